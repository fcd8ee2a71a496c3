"""Implement-it-yourself exercises: their references, cases and checks (each
module imports torch). The registry (names, tasks, signatures, the starter
file) is torch-free and lives in labs.catalog, as the labs' does; it is
re-exported here for the checker.

A check never trusts the learner's process: `python -m labs check NAME FILE`
(labs.exercises.checking) runs the learner's function in a child process of
its own (labs.exercises.sandbox) with limits on time, memory, CPU time and
output, in a session of its own that ends with the check, takes back
only the values it returned, and compares them here, with the reference
computed in the checker's own process. A file that exits early, prints, or
patches torch in its own process changes nothing but its own outputs.
"""

from labs.catalog import EXERCISES, ExerciseSpec, UnknownExercise, starter_text
from labs.catalog import get_exercise as get

__all__ = ["EXERCISES", "ExerciseSpec", "UnknownExercise", "get", "starter_text"]
