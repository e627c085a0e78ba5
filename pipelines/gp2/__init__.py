"""The GP2 pipeline: the steps of one image, the runner of a burst on Dask, the GP1 level."""
