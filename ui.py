"""Serve the research assistant's web page: ``python ui.py [--host H] [--port P]``.

Defaults to http://127.0.0.1:7860, offline; see ``assistant/web/``.
"""

import sys

from assistant.web import main

if __name__ == "__main__":
    sys.exit(main())
