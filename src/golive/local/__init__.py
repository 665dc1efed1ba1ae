"""The local side of golive: service config, dev server and the local cloud."""
