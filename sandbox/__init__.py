"""Stand-ins of outside services on loopback, for the demo and the tests."""
