"""Pure functions and contracts: imaging, ECG formats and measures, the workflow table, configuration, multipart parsing, the object-store contract."""
