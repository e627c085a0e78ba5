"""The GP2 pipeline: the steps of one image, the runner of a burst on Dask, the GP1 level.

By noun: :mod:`.steps` (what one task does to one image), :mod:`.planning` (what each
image is run with: masters, reference, catalogue, folders, stacks), :mod:`.runner` (the
tasks of a burst submitted and gathered, stopped on request), :mod:`.cluster` (the Dask
client they go to), :mod:`.summary` (the transient measured, the light curve and decay
written) and :mod:`.gp1` (the GP1 level that routes new frames to runs).
"""
