"""What one call did, as the source of its record and of its hand-over context.

Below the pipeline that fills it and the hand-over that reads it, so that neither has to
import the other.
"""
