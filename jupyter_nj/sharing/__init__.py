"""The sharing pillar: notebooks in and out of the text formats people share them in.

Import turns Markdown (jupytext or MyST), R Markdown and percent-format Python into notebooks;
export writes any version of a notebook (or the file as it is now) back out in those formats.
"""
