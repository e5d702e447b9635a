"""Small plugin modules, good and broken, for the plugin-manager tests."""
