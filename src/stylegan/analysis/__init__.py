"""Analysis of trained generators: feature capture by forward hooks (``features``), circular-artifact
detection, scores and experiments (``artifacts``), figures (``figures``) and reports (``report``)."""
