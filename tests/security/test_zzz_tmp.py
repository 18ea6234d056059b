def test_print():
    from tests.security.test_fuzz import STATUSES
    for k, v in sorted(STATUSES.items()): print(k, v)
