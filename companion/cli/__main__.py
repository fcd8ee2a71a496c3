import sys

from companion.cli.commands import main

sys.exit(main())
