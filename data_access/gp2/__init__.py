"""GP2's files: the pipeline's INI files, frames in, images and tables out, and the
Reprocess page's run records."""
