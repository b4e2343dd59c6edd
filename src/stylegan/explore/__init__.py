"""``stylegan explore``: the interactive explorer, a local web application (``app.py``) over the
library's own rendering (``render.py``) and a session holding the open network (``session.py``)."""
