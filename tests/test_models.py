"""print_summary prints the Keras summary as plain text."""

import re

from dlcourse.models import print_summary


def test_print_summary_is_plain_text_with_the_parameter_count(capsys):
    import keras

    model = keras.Sequential([keras.Input((7,)), keras.layers.Dense(4), keras.layers.Dense(3), keras.layers.Dense(1)])
    print_summary(model)
    out = capsys.readouterr().out
    assert "Total params: 51" in out
    assert "\x1b[" not in out and not re.search(r"<\w+", out)  # no colour codes, no HTML
