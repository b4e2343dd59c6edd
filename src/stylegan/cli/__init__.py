"""The `stylegan` command: thin wrappers that parse options and call the library."""
