"""The image: the shared repository, the build, and promotion by digest."""
