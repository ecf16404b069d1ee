"""Helpers for the course *Deep Learning with Keras*.

One module per concern: ``setup`` (notebook set-up), ``plotting``, ``models`` (Keras model
helpers), ``data`` (offline datasets), ``checks`` (student-facing checks, one module per
chapter) and ``grading`` (class-scale autograding on top of nbgrader).
"""

__version__ = "0.1.0"
