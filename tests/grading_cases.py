"""Each chapter's grading round-trip cases: a wrong answer, a tampered test, an infinite loop.

Scores are the autograded points the submission must earn, written out by hand from the
points in the solution notebook, so that a change in grading shows up as a failing test.
"""

from course import GradingCases

CASES = {
    "ch01_learning_from_data": GradingCases(
        # >= vs >: q7 (2 points) lost, 16 - 2 = 14
        wrong_answer=(
            "q7_threshold",
            "def predict_class(probabilities, threshold=0.5):\n"
            "    return (np.asarray(probabilities) > threshold).astype(int)\n",
            14.0,
        ),
        # a wrong mse (q3, 2 points) behind a test cell edited to `pass`: the test is restored, 14
        tampered=("q3_mse", "def mse(y_true, y_pred):\n    return 0.0\n", "q3_mse_test", 14.0),
        # q1 (2 points) never finishes: interrupted, the rest is graded, 14
        infinite_loop=("q1_task_types", 14.0),
        cell_timeout=15,
    ),
    "ch02_neurons": GradingCases(
        # the weights without the biases: q3 (2 points) lost, 16 - 2 = 14
        wrong_answer=(
            "q3_count_params",
            "def count_dense_params(layer_sizes):\n"
            "    return sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:]))\n",
            14.0,
        ),
        # rows not transposed into columns (q5, 2 points) behind a test cell edited to `pass`:
        # the test is restored and fails, 14
        tampered=(
            "q5_set_weights",
            "def set_neuron_weights(layer, weights_by_neuron, biases):\n"
            "    layer.set_weights([np.asarray(weights_by_neuron), np.asarray(biases)])\n",
            "q5_set_weights_test",
            14.0,
        ),
        # q1 (2 points) never finishes: interrupted, its variables stay undefined, the rest is graded, 14
        infinite_loop=("q1_by_hand", 14.0),
        cell_timeout=20,
    ),
}
