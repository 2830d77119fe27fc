"""`ci-reviewer doctor`: a preflight of a real setup, judged from the services' own answers.

Each module checks one concern and returns `Check` records; none writes anything a user
sees (a token's write permissions are judged from answers to requests GitHub must refuse
either way: with the permission, as invalid; without it, as not permitted).
"""
