"""Products: the GFT products of a workspace, their pushes to the SDB and transfers,
their files and descriptors (descriptors/), the SDB client."""
