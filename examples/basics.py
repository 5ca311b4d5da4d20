"""The TensorFlow basics guide with rstf: tensors, variables, automatic differentiation, graphs
with tf.function, modules and their saving (tf.saved_model), training with a hand-written loop
and with compile/fit, and model.save. The guide's four plots are written as PNG files
(data.png, before_training.png, after_training.png, training_progress.png).

Run with `make demo`.
"""

import matplotlib

import rstf as tf

matplotlib.use("Agg")  # files, no window
from matplotlib import pyplot as plt  # noqa: E402

matplotlib.rcParams['figure.figsize'] = [9, 6]

x = tf.constant([[1., 2., 3.],
                 [4., 5., 6.]])

print(x)
print(x.shape)
print(x.dtype)

print(repr(x + x))
print(repr(5 * x))
print(repr(x @ tf.transpose(x)))
print(repr(tf.concat([x, x, x], axis=0)))
print(repr(tf.nn.softmax(x, axis=-1)))
print(repr(tf.reduce_sum(x)))

if tf.config.list_physical_devices('GPU'):
    print("TensorFlow **IS** using the GPU")
else:
    print("TensorFlow **IS NOT** using the GPU")

# Variables
var = tf.Variable([0.0, 0.0, 0.0])
print(repr(var.assign([1, 2, 3])))
print(repr(var.assign_add([1, 1, 1])))

# Automatic differentiation
x = tf.Variable(1.0)


def f(x):
    y = x**2 + 2*x - 5
    return y


print(repr(f(x)))
with tf.GradientTape() as tape:
    y = f(x)
g_x = tape.gradient(y, x)  # g(x) = dy/dx
print(repr(g_x))


# Graphs and tf.function
@tf.function
def my_func(x):
    print('Tracing.\n')
    return tf.reduce_sum(x)


print(repr(my_func(tf.constant([1, 2, 3]))))
print(repr(my_func(tf.constant([10, 9, 8]))))
print(repr(my_func(tf.constant([10.0, 9.1, 8.2], dtype=tf.float32))))


# Modules, layers and models
class MyModule(tf.Module):
    def __init__(self, value):
        self.weight = tf.Variable(value)

    @tf.function
    def multiply(self, x):
        return x * self.weight


mod = MyModule(3)
print(repr(mod.multiply(tf.constant([1, 2, 3]))))

save_path = './saved'
tf.saved_model.save(mod, save_path)
reloaded = tf.saved_model.load(save_path)
print(repr(reloaded.multiply(tf.constant([1, 2, 3]))))

# Training loops
x = tf.linspace(-2, 2, 201)
x = tf.cast(x, tf.float32)
y = f(x) + tf.random.normal(shape=[201])

plt.plot(x.numpy(), y.numpy(), '.', label='Data')
plt.plot(x, f(x),  label='Ground truth')
plt.legend()
plt.savefig('data.png')
plt.close()


class Model(tf.keras.Model):
    def __init__(self, units):
        super().__init__()
        self.dense1 = tf.keras.layers.Dense(units=units,
                                            activation=tf.nn.relu,
                                            kernel_initializer=tf.random.normal,
                                            bias_initializer=tf.random.normal)
        self.dense2 = tf.keras.layers.Dense(1)

    def call(self, x, training=True):
        # For Keras layers/models, implement `call` instead of `__call__`.
        x = x[:, tf.newaxis]
        x = self.dense1(x)
        x = self.dense2(x)
        return tf.squeeze(x, axis=1)


model = Model(64)
plt.plot(x.numpy(), y.numpy(), '.', label='data')
plt.plot(x, f(x),  label='Ground truth')
plt.plot(x, model(x), label='Untrained predictions')
plt.title('Before training')
plt.legend()
plt.savefig('before_training.png')
plt.close()

variables = model.variables
optimizer = tf.optimizers.SGD(learning_rate=0.01)

for step in range(1000):
    with tf.GradientTape() as tape:
        prediction = model(x)
        error = (y - prediction)**2
        mean_error = tf.reduce_mean(error)
    gradient = tape.gradient(mean_error, variables)
    optimizer.apply_gradients(zip(gradient, variables))

    if step % 100 == 0:
        print(f'Mean squared error: {mean_error.numpy():0.3f}')

plt.plot(x.numpy(), y.numpy(), '.', label="data")
plt.plot(x, f(x),  label='Ground truth')
plt.plot(x, model(x), label='Trained predictions')
plt.title('After training')
plt.legend()
plt.savefig('after_training.png')
plt.close()

new_model = Model(64)
new_model.compile(
    loss=tf.keras.losses.MSE,
    optimizer=tf.optimizers.SGD(learning_rate=0.01))

history = new_model.fit(x, y,
                        epochs=100,
                        batch_size=32,
                        verbose=0)
print(f"fit: loss {history.history['loss'][0]:.3f} after the first epoch, "
      f"{history.history['loss'][-1]:.3f} after the last")

plt.plot(history.history['loss'])
plt.xlabel('Epoch')
plt.ylim([0, max(plt.ylim())])
plt.ylabel('Loss [Mean Squared Error]')
plt.title('Keras training progress')
plt.savefig('training_progress.png')
plt.close()

model.save('./my_model')
reloaded_model = tf.keras.models.load_model('./my_model')
same = bool(tf.reduce_all(reloaded_model(x) == model(x)))
print(f"model.save('./my_model'): reloaded predictions identical: {same}")
