"""Each chapter's grading round-trip cases: a wrong answer, a tampered test, an infinite loop.

Each score is the autograded points that the solution with that one fault earns, written out by hand
from the points in the solution notebook, so that a change in grading shows up as a failing test. The
round trip (``test_grading_roundtrip.py``) grades the three faults together in one submission, which
must lose exactly the sum of the three losses: the faults sit in different questions.
"""

from course import GradingCases

#: Seconds per cell. The cells that the release marks slow (``dlcourse.slow``: the set-up, which imports
#: TensorFlow, and the training cells) get four times it, so the infinite loop, in an unmarked answer
#: cell, is interrupted after this long while a loaded machine still trains in time.
CELL_TIMEOUT = 20

CASES = {
    "ch01_learning_from_data": GradingCases(
        # the boundary of the threshold 0.5 whatever the threshold: q7 (1 point) lost, 16 - 1 = 15
        wrong_answer=(
            "q7_threshold",
            "def decision_boundary(w, b, threshold=0.5):\n"
            "    return -b / w\n",
            15.0,
        ),
        # a wrong mse (q3, 2 points) behind a test cell edited to `pass`: the test is restored and fails,
        # and so does q5 (3 points), whose recorded losses come from that mse and no longer match the
        # replayed run: 16 - 2 - 3 = 11
        tampered=("q3_mse", "def mse(y_true, y_pred):\n    return 0.0\n", "q3_mse_test", 11.0),
        also_lost=("q5_fit_test",),
        # q1 (2 points) never finishes: interrupted, task_type is undefined, the rest is graded, 14
        infinite_loop=("q1_task_types", 14.0),
        cell_timeout=15,
    ),
    "ch02_neurons": GradingCases(
        # the biases left out of the budget: q3 (2 points) lost, 16 - 2 = 14
        wrong_answer=(
            "q3_max_hidden_units",
            "def max_hidden_units(n_inputs, n_outputs, budget):\n"
            "    return budget // (n_inputs + n_outputs)\n",
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
        cell_timeout=CELL_TIMEOUT,
    ),
    "ch03_activations": GradingCases(
        # targets in [0, 1] answered "tanh": q7 (2 points) lost, 19 - 2 = 17
        wrong_answer=(
            "q7_output_activation",
            "def choose_output_activation(y):\n"
            "    return \"tanh\" if -1 <= min(y) and max(y) <= 1 else (\"softplus\" if min(y) >= 0 else \"linear\")\n",
            17.0,
        ),
        # collapse keeps only the last bias (q5, 3 points) behind a test cell edited to `pass`: the test is
        # restored, 16
        tampered=(
            "q5_collapse",
            "def collapse(weights):\n"
            "    W = weights[0]\n"
            "    for W_next in weights[2::2]:\n"
            "        W = W @ W_next\n"
            "    return W, weights[-1]\n"
            "\n"
            "W_one, b_one = collapse(three_linear.get_weights())\n"
            "one_linear = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(2)])\n"
            "one_linear.layers[0].set_weights([W_one, b_one])\n",
            "q5_collapse_test",
            16.0,
        ),
        # q1 (3 points) never finishes: interrupted, the rest is graded, 16
        infinite_loop=("q1_elu", 16.0),
        cell_timeout=CELL_TIMEOUT,
    ),
    "ch04_sgd": GradingCases(
        # floor instead of ceiling: q2 (1 point) lost, 15 - 1 = 14
        wrong_answer=(
            "q2_steps_per_epoch",
            "def steps_per_epoch(n, batch_size):\n    return n // batch_size\n",
            14.0,
        ),
        # log_cosh returns the MSE (q1, 2 points) behind a test cell edited to `pass`: the test is restored, 13
        tampered=(
            "q1_log_cosh",
            "def log_cosh(y_true, y_pred):\n    return float(np.mean((y_pred - y_true) ** 2))\n",
            "q1_log_cosh_test",
            13.0,
        ),
        # q3 (3 points) never finishes: interrupted, sgd_step_mae is undefined, the rest is graded, 12
        infinite_loop=("q3_sgd_step_mae", 12.0),
        cell_timeout=CELL_TIMEOUT,
    ),
    "ch07_binary_classification": GradingCases(
        # the chapter page's cross-entropy, without clipping: infinite at p = 0 or 1, q1 (2 points)
        # lost, 15 - 2 = 13
        wrong_answer=(
            "q1_bce",
            "def binary_cross_entropy(y_true, p):\n"
            "    return np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))\n",
            13.0,
        ),
        # a transposed confusion matrix (q2, 2 points) behind a test cell edited to `pass`: the test
        # is restored and fails, 13
        tampered=(
            "q2_confusion",
            "def confusion(y_true, p, threshold=0.5):\n"
            "    y_pred = (np.asarray(p) >= threshold).astype(int)\n"
            "    return np.array([[np.sum((y_true == t) & (y_pred == q)) for t in (0, 1)]\n"
            "                     for q in (0, 1)])\n",
            "q2_confusion_test",
            13.0,
        ),
        # q3 (3 points) never finishes: interrupted, its names stay undefined, the rest is graded, 12
        infinite_loop=("q3_scores", 12.0),
        cell_timeout=CELL_TIMEOUT,
    ),
    "ch06_dropout_batchnorm": GradingCases(
        # dropout without the 1/(1 - rate) rescaling: q1 (2 points) lost, 17 - 2 = 15
        wrong_answer=(
            "q1_dropout",
            "def dropout(x, rate, u, training=True, inverted=True):\n"
            "    if not training:\n"
            "        return x if inverted else x * (1 - rate)\n"
            "    return np.where(np.asarray(u) >= rate, x, 0.0)\n",
            15.0,
        ),
        # momentum and 1 - momentum swapped (q4, 2 points) behind a test cell edited to `pass`:
        # the test is restored and fails, 15
        tampered=(
            "q4_moving_mean",
            "def moving_mean_after(k, batch_mean, momentum=0.99, start=0.0):\n"
            "    return batch_mean + (start - batch_mean) * (1 - momentum) ** k\n",
            "q4_moving_mean_test",
            15.0,
        ),
        # q5 (3 points) never finishes: interrupted, count_bn_network is undefined, the rest is graded, 14
        infinite_loop=("q5_count_params", 14.0),
        cell_timeout=CELL_TIMEOUT,
    ),
    "ch05_overfitting": GradingCases(
        # epochs counted from 0: q2 (3 points) lost, 16 - 3 = 13
        wrong_answer=(
            "q2_early_stopping_epochs",
            "def early_stopping_epochs(history, patience, min_delta, start_from_epoch=0):\n"
            "    best, best_epoch = np.inf, 0\n"
            "    for epoch, value in enumerate(history[\"val_loss\"]):\n"
            "        if epoch < start_from_epoch:\n"
            "            continue\n"
            "        if value < best - min_delta:\n"
            "            best, best_epoch = value, epoch\n"
            "        elif epoch - best_epoch >= patience:\n"
            "            return epoch, best_epoch\n"
            "    return len(history[\"val_loss\"]) - 1, best_epoch\n",
            13.0,
        ),
        # the biases penalised too (q3, 2 points) behind a test cell edited to `pass`: the test is
        # restored and fails, 14
        tampered=(
            "q3_l2_penalty",
            "def l2_penalty(weights, lam):\n"
            "    return float(sum(lam * np.sum(np.square(w)) for w in weights))\n",
            "q3_l2_penalty_test",
            14.0,
        ),
        # q1 (3 points) never finishes: interrupted, diagnosis is undefined, the rest is graded, 13
        infinite_loop=("q1_diagnosis", 13.0),
        cell_timeout=CELL_TIMEOUT,
    ),
    "ch08_convnets": GradingCases(
        # the chapter's reshape trick, which only works for stride = size and square inputs:
        # q2 (2 points) lost, 17 - 2 = 15
        wrong_answer=(
            "q2_max_pool",
            "def max_pool(x, size=2, stride=None):\n"
            "    n = x.shape[0] // size\n"
            "    return x[:n * size, :n * size].reshape(n, size, n, size).max(axis=(1, 3))\n",
            15.0,
        ),
        # the naive softmax-then-log cross-entropy (q4, 2 points), which overflows for large logits,
        # behind a test cell edited to `pass`: the test is restored and fails, 15
        tampered=(
            "q4_cross_entropy",
            "def cross_entropy_from_logits(labels, logits):\n"
            "    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)\n"
            "    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))\n",
            "q4_cross_entropy_test",
            15.0,
        ),
        # q1 (3 points) never finishes: interrupted, conv2d is undefined, the rest is graded, 14
        infinite_loop=("q1_conv2d", 14.0),
        cell_timeout=CELL_TIMEOUT,
    ),
    "ch09_transfer_learning": GradingCases(
        # every parameter counted, the frozen base's too: q1 (2 points) lost, 15 - 2 = 13
        wrong_answer=(
            "q1_transfer_model",
            "def build_transfer_model(n_classes):\n"
            "    base = load_pretrained_base()\n"
            "    base.trainable = False\n"
            "    inputs = keras.Input((28, 28, 1))\n"
            "    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))\n"
            "    x = layers.Dense(32, activation='relu')(x)\n"
            "    return keras.Model(inputs, layers.Dense(n_classes, activation='softmax')(x))\n"
            "\n"
            "n_trainable = build_transfer_model(10).count_params()\n",
            13.0,
        ),
        # the rows with the *lowest* loss (no reversal of the ascending sort) behind a test cell
        # edited to `pass`: the test is restored and fails, q4 (3 points) lost, 15 - 3 = 12
        tampered=(
            "q4_suspects",
            "keras.utils.set_random_seed(0)\n"
            "features = load_pretrained_base().predict(X_noisy, batch_size=500, verbose=0)\n"
            "noisy_head = keras.Sequential([keras.Input(features.shape[1:]),\n"
            "    layers.GlobalAveragePooling2D(), layers.Dense(10, activation='softmax')])\n"
            "noisy_head.compile(optimizer=keras.optimizers.Adam(0.01),\n"
            "                   loss='sparse_categorical_crossentropy')\n"
            "noisy_head.fit(to_dataset(features, y_noisy, batch_size=64, shuffle=True),\n"
            "               epochs=30, verbose=0)\n"
            "proba = noisy_head.predict(features, verbose=0)\n"
            "loss = -np.log(proba[np.arange(len(y_noisy)), y_noisy] + 1e-12)\n"
            "suspects = np.argsort(loss)[:100]\n",
            "q4_suspects_test",
            12.0,
        ),
        # q5 (3 points) never finishes: interrupted, grad_cam is undefined, the rest is graded, 12
        infinite_loop=("q5_grad_cam", 12.0),
        cell_timeout=CELL_TIMEOUT,
    ),
}
