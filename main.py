from visionlab.__main__ import main

raise SystemExit(main())
