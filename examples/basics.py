"""The TensorFlow basics guide, as far as rstf goes today: the "Tensors" section.

Run with `make demo`. Later sections (Variables, GradientTape, tf.function, Keras, saving)
are added here as rstf grows.
"""

import rstf as tf

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
