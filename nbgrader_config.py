"""nbgrader configuration for the course; run every nbgrader command from this folder."""

c = get_config()  # noqa: F821  (injected by traitlets)

c.CourseDirectory.course_id = "dl-keras"
c.CourseDirectory.root = "."
# Instructor sources with solutions and hidden tests; student versions are generated from them.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Training cells take seconds, not milliseconds: nbgrader's default of 30 s per cell is too short
# on a slow laptop. A stuck cell is interrupted and grading goes on with the next one.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120

# Feedback never shows hidden tests (jupyter/nbgrader#917): hidden regions are removed from the
# test cells and every hidden-test line is redacted from the outputs, tracebacks included.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "dlcourse.grading.preprocessors.StripHiddenTests",
]
