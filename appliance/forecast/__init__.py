"""Wait forecasts for an office's queue, pure and standard library only: the device's core and the
reference backend feed the same estimator, so a visitor reads one estimate wherever they look."""
