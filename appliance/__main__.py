import sys

from appliance.app.cli import main

sys.exit(main())
