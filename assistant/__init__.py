"""A research assistant over a collection of paper listings: search, grounded answers, writing."""
