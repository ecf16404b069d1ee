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
    "ch03_activations": GradingCases(
        # rainfall_mm answered "linear" instead of "relu": q7 (2 points) lost, 19 - 2 = 17
        wrong_answer=(
            "q7_output_activation",
            "output_activation = {\n"
            "    \"temperature_celsius\": \"linear\",\n"
            "    \"probability_of_rain\": \"sigmoid\",\n"
            "    \"rainfall_mm\": \"linear\",\n"
            "    \"steering_angle\": \"tanh\",\n"
            "}\n",
            17.0,
        ),
        # collapse forgets b1 (q5, 3 points) behind a test cell edited to `pass`: the test is restored, 16
        tampered=(
            "q5_collapse",
            "def collapse(W1, b1, W2, b2):\n"
            "    return W1 @ W2, b2\n"
            "\n"
            "W_one, b_one = collapse(*two_linear.layers[0].get_weights(), *two_linear.layers[1].get_weights())\n"
            "one_linear = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(2)])\n"
            "one_linear.layers[0].set_weights([W_one, b_one])\n",
            "q5_collapse_test",
            16.0,
        ),
        # q1 (3 points) never finishes: interrupted, the rest is graded, 16; the timeout leaves room
        # for the set-up cell, which imports TensorFlow, and q6's training on a slow machine
        infinite_loop=("q1_leaky_relu", 16.0),
        cell_timeout=60,
    ),
    "ch04_sgd": GradingCases(
        # floor instead of ceiling: q2 (1 point) lost, 14 - 1 = 13
        wrong_answer=(
            "q2_steps_per_epoch",
            "def steps_per_epoch(n, batch_size):\n    return n // batch_size\n",
            13.0,
        ),
        # huber returns the MSE (q1, 2 points) behind a test cell edited to `pass`: the test is restored, 12
        tampered=(
            "q1_huber",
            "def huber(y_true, y_pred, delta=1.0):\n    return float(np.mean((y_pred - y_true) ** 2))\n",
            "q1_huber_test",
            12.0,
        ),
        # q3 (3 points) never finishes: interrupted, sgd_step is undefined, the rest is graded, 11
        infinite_loop=("q3_sgd_step", 11.0),
        # the timeout leaves room for the slowest cells on a slow machine: the set-up cell (imports
        # TensorFlow), the learning-rate sweep of q5 and the training of q6
        cell_timeout=60,
    ),
    "ch09_transfer_learning": GradingCases(
        # every parameter counted, the frozen base's too: q1 (2 points) lost, 12 - 2 = 10
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
            10.0,
        ),
        # the rows with the *lowest* loss (no reversal of the ascending sort) behind a test cell
        # edited to `pass`: the test is restored and fails, q4 (3 points) lost, 12 - 3 = 9
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
            9.0,
        ),
        # q5 (3 points) never finishes: interrupted, grad_cam is undefined, the rest is graded, 9
        infinite_loop=("q5_grad_cam", 9.0),
        # the slowest cells on a loaded machine: the set-up (imports TensorFlow), the training of
        # q2 and of cam_head, and the Grad-CAM checks of q5
        cell_timeout=60,
    ),
}
