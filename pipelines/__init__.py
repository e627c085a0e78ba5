"""Runs that combine the science of analysis/ with the I/O of data_access/; never imports app/."""
