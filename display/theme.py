"""Colours of the monitor and kiosk screens: high contrast for a waiting room, one accent for news.

Dark background with white text reads best from across a room and does not glare in the evening.
"""

BACKGROUND = (10, 24, 46)
PANEL = (22, 44, 78)
RULE = (52, 80, 120)
TEXT = (255, 255, 255)
MUTED = (170, 188, 214)  # the second language and labels
# A fresh call turns its band this colour, text inverse, for highlight_s after called_at.
HIGHLIGHT = (255, 196, 0)
HIGHLIGHT_TEXT = (10, 24, 46)
APPOINTMENT = (120, 220, 160)  # checked-in appointments stand out from walk-in numbers
WARNING = (255, 170, 60)  # the discreet "not up to date" and "reconnecting" marks
OK = (32, 128, 64)  # white text on it: 5:1 (the brighter (60, 170, 90) gave 2.96:1)
ERROR = (200, 50, 50)
