"""What each api/ file calls: one function per endpoint, returning a Response."""
