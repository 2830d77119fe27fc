from ci_reviewer.cli import main

main()
