import sys

from stylegan.cli.main import main

sys.exit(main())
