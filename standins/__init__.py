"""What the provider stand-ins share: a loopback HTTP server to build a fake API on."""
