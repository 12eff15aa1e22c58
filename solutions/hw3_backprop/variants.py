"""Homework 3's variants (see dlhw.autograder.variants): realistic bugs that must lose points and
correct-but-unusual solutions that must keep full marks. tests/test_homeworks.py grades each
through the real grader."""

# Value.backward sorting the graph itself (micrograd's build_topo, without recursion), so that
# what topo_sort returns matters to the topo_sort tests alone.
BACKWARD_SORTS_ITSELF = """
    def backward(self):
        order, seen = [], set()
        stack = [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
"""

# torch.nn.Module's bookkeeping, for Linear: arrays set as attributes are parameters.
MODULE_BASE = """
    class Module:
        def __init__(self):
            object.__setattr__(self, "_parameters", {})
            object.__setattr__(self, "_grads", {})

        def __setattr__(self, name, value):
            if isinstance(value, np.ndarray) and not name.startswith("_"):
                if name.startswith("d") and name[1:] in self._parameters:
                    self._grads[name[1:]] = value
                else:
                    self._parameters[name] = value
            else:
                object.__setattr__(self, name, value)

        def __getattr__(self, name):
            params = self.__dict__["_parameters"]
            if name in params:
                return params[name]
            grads = self.__dict__["_grads"]
            if name.startswith("d") and name[1:] in grads:
                return grads[name[1:]]
            raise AttributeError(name)

        def parameters(self):
            return list(self._parameters.values())

        def __call__(self, *args):
            return self.forward(*args)
"""
MODULE_BASE_KEY_ERROR = MODULE_BASE.replace(
    """            params = self.__dict__["_parameters"]
            if name in params:
                return params[name]
            grads = self.__dict__["_grads"]
            if name.startswith("d") and name[1:] in grads:
                return grads[name[1:]]
            raise AttributeError(name)""",
    """            if name.startswith("d") and name[1:] in self._parameters:
                return self._grads[name[1:]]
            return self._parameters[name]""",
)
LINEAR_ON_MODULE = """
    class Linear(Module):
        def __init__(self, in_features, out_features, rng=None):
            super().__init__()
            r = np.random.default_rng(rng)
            self.W = r.standard_normal((in_features, out_features)) / np.sqrt(in_features)
            self.b = np.zeros((1, out_features))

        def forward(self, X):
            self._X = X
            return X @ self.W + self.b

        def backward(self, grad_out):
            self.dW = self._X.T @ grad_out
            self.db = grad_out.sum(axis=0, keepdims=True)
            return grad_out @ self.W.T
"""

# class Value(float): see the variant value_subclasses_float.
VALUE_SUBCLASSES_FLOAT = """
            class Value(float):
                def __new__(cls, data, _prev=()):
                    return super().__new__(cls, data)

                def __init__(self, data, _prev=()):
                    self.grad = 0.0
                    self._prev = tuple(_prev)
                    self._backward = lambda: None

                @property
                def data(self):
                    return float(self)

                def __repr__(self):
                    return f"Value(data={self.data}, grad={self.grad})"

                @staticmethod
                def _v(x):
                    return x if isinstance(x, Value) else Value(x)

                def _node(self, data, prev, local):
                    out = Value(data, prev)

                    def _backward():
                        for p, d in zip(prev, local):
                            p.grad += d * out.grad

                    out._backward = _backward
                    return out

                def __add__(self, other):
                    o = Value._v(other)
                    return self._node(self.data + o.data, (self, o), (1.0, 1.0))

                def __radd__(self, other):
                    return self + other

                def __mul__(self, other):
                    o = Value._v(other)
                    return self._node(self.data * o.data, (self, o), (o.data, self.data))

                def __rmul__(self, other):
                    return self * other

                def __pow__(self, k):
                    return self._node(self.data**k, (self,), (k * self.data ** (k - 1),))

                def __neg__(self):
                    return self * -1.0

                def __sub__(self, other):
                    return self + (-Value._v(other))

                def __rsub__(self, other):
                    return Value._v(other) + (-self)

                def __truediv__(self, other):
                    return self * Value._v(other) ** -1

                def __rtruediv__(self, other):
                    return Value._v(other) * self**-1

                def exp(self):
                    e = math.exp(self.data)
                    return self._node(e, (self,), (e,))

                def log(self):
                    return self._node(math.log(self.data), (self,), (1.0 / self.data,))

                def tanh(self):
                    t = math.tanh(self.data)
                    return self._node(t, (self,), (1.0 - t * t,))

                def relu(self):
                    on = self.data > 0
                    return self._node(self.data if on else 0.0, (self,), (1.0 if on else 0.0,))

                def sigmoid(self):
                    s = 0.5 * (1.0 + math.tanh(0.5 * self.data))
                    return self._node(s, (self,), (s * (1.0 - s),))

                def maximum(self, other):
                    o = Value._v(other)
                    win = self.data >= o.data
                    return self._node(max(self.data, o.data), (self, o), (float(win), float(not win)))

                __hash__ = object.__hash__

                def __eq__(self, other):
                    return self is other

                def backward(self):
                    order = topo_sort(self)
                    self.grad = 1.0
                    for node in reversed(order):
                        node._backward()
        """

BUGS = {
    # The sigmoid's derivative written as s (1 + s).
    "sigmoid_derivative_s_one_plus_s": {
        "Sigmoid.backward": """
            def backward(self, grad_out):
                return grad_out * self.S * (1.0 + self.S)
        """,
    },
    # tanh's derivative written as 1 - t instead of 1 - t**2.
    "tanh_derivative_one_minus_t": {
        "Tanh.backward": """
            def backward(self, grad_out):
                return grad_out * (1.0 - self.T)
        """,
    },
    # `=` instead of `+=`: a node used twice keeps only the last path's gradient.
    "value_mul_assigns_grad": {
        "Value.__mul__": """
            def __mul__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data * other.data, (self, other))

                def _backward():
                    self.grad = other.data * out.grad
                    other.grad = self.data * out.grad

                out._backward = _backward
                return out
        """,
    },
    # The same in __add__ only (forks through additions).
    "value_add_assigns_grad": {
        "Value.__add__": """
            def __add__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data + other.data, (self, other))

                def _backward():
                    self.grad = out.grad
                    other.grad = out.grad

                out._backward = _backward
                return out
        """,
    },
    # db averaged over the batch instead of summed (right shape, wrong size for B > 1).
    "linear_db_mean_over_batch": {
        "Linear.backward": """
            def backward(self, grad_out):
                self.dW = matmul(self.X.T, grad_out)
                self.db = grad_out.mean(axis=0, keepdims=True)
                return matmul(grad_out, self.W.T)
        """,
    },
    # db not reduced over the batch at all: shape (B, out).
    "linear_db_not_summed": {
        "Linear.backward": """
            def backward(self, grad_out):
                self.dW = matmul(self.X.T, grad_out)
                self.db = grad_out
                return matmul(grad_out, self.W.T)
        """,
    },
    # dX through W instead of W.T (shapes fit only for square layers; wrong values there).
    "linear_dx_without_transpose": {
        "Linear.backward": """
            def backward(self, grad_out):
                self.dW = matmul(self.X.T, grad_out)
                self.db = grad_out.sum(axis=0, keepdims=True)
                return matmul(grad_out, self.W)
        """,
    },
    # Sequential's backward walks the modules in forward order.
    "sequential_backward_in_forward_order": {
        "Sequential.backward": """
            def backward(self, grad_out):
                for module in self.modules:
                    grad_out = module.backward(grad_out)
                return grad_out
        """,
    },
    # A recursive topological sort: fine on small graphs, RecursionError on a long chain.
    "topo_sort_recursive": {
        "topo_sort": """
            def topo_sort(root):
                order, seen = [], set()

                def visit(node):
                    if id(node) in seen:
                        return
                    seen.add(id(node))
                    for p in node._prev:
                        visit(p)
                    order.append(node)

                visit(root)
                return order
        """,
    },
    # A mutable default argument: the list of the first call is reused by every later one.
    "topo_sort_mutable_default": {
        "topo_sort": """
            def topo_sort(root, order=[]):
                seen = {id(n) for n in order}
                stack = [(root, False)]
                while stack:
                    node, children_done = stack.pop()
                    if children_done:
                        order.append(node)
                    elif id(node) not in seen:
                        seen.add(id(node))
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev)
                return order
        """,
    },
    # The visited set a global: backward's topo_sort marks the graph, so a later topo_sort of
    # the same graph lists nothing (a new graph, never visited, still sorts right).
    "topo_sort_global_visited_set": {
        "topo_sort": """
            _visited = set()


            def topo_sort(root):
                order, stack = [], [(root, False)]
                while stack:
                    node, done = stack.pop()
                    if done:
                        order.append(node)
                    elif node not in _visited:
                        _visited.add(node)
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev)
                return order
        """,
    },
    # __rsub__ as self - other: 2 - a computed as a - 2.
    "rsub_as_self_minus_other": {
        "Value.__rsub__": """
            def __rsub__(self, other):
                return self - other
        """,
    },
    # __rtruediv__ inverted: 2 / a computed as a / 2.
    "rtruediv_inverted": {
        "Value.__rtruediv__": """
            def __rtruediv__(self, other):
                return self / other
        """,
    },
    # log's derivative as 1 / x**2.
    "log_derivative_one_over_x_squared": {
        "Value.log": """
            def log(self):
                out = Value(math.log(self.data), (self,))

                def _backward():
                    self.grad += out.grad / self.data**2

                out._backward = _backward
                return out
        """,
    },
    # The power rule without the -1: k x**k.
    "pow_derivative_k_x_to_k": {
        "Value.__pow__": """
            def __pow__(self, k):
                out = Value(self.data**k, (self,))

                def _backward():
                    self.grad += k * self.data**k * out.grad

                out._backward = _backward
                return out
        """,
    },
    # exp's derivative from the input: x instead of exp(x).
    "exp_derivative_uses_input": {
        "Value.exp": """
            def exp(self):
                out = Value(math.exp(self.data), (self,))

                def _backward():
                    self.grad += self.data * out.grad

                out._backward = _backward
                return out
        """,
    },
    # maximum sends the gradient to both inputs.
    "maximum_grad_to_both": {
        "Value.maximum": """
            def maximum(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(max(self.data, other.data), (self, other))

                def _backward():
                    self.grad += out.grad
                    other.grad += out.grad

                out._backward = _backward
                return out
        """,
    },
    # backward visits the nodes in topological order, not reversed.
    "backward_in_topological_order": {
        "Value.backward": """
            def backward(self):
                order = topo_sort(self)
                self.grad = 1.0
                for node in order:
                    node._backward()
        """,
    },
    # The ReLU mask taken from the output, which is never negative: gradient everywhere.
    "relu_mask_from_output": {
        "ReLU.forward": """
            def forward(self, X):
                out = np.maximum(X, 0.0)
                self.mask = out >= 0
                return out
        """,
    },
    # Cross-entropy's gradient without the 1/B of the mean.
    "cross_entropy_grad_missing_one_over_b": {
        "SoftmaxCrossEntropy.backward": """
            def backward(self):
                G = self.P.copy()
                G[np.arange(len(self.y)), self.y] -= 1.0
                return G
        """,
    },
    # Softmax without the max-shift: exp overflows for large logits.
    "cross_entropy_without_max_shift": {
        "SoftmaxCrossEntropy.forward": """
            def forward(self, logits, y):
                E = np.exp(logits)
                self.P = E / E.sum(axis=1, keepdims=True)
                self.y = y
                return float(np.mean(-np.log(self.P[np.arange(len(y)), y])))
        """,
    },
    # MSE's gradient without the factor 2.
    "mse_grad_missing_two": {
        "MSELoss.backward": """
            def backward(self):
                return self.diff / self.diff.size
        """,
    },
    # MSE averaged over the batch only (sum over features): torch means over every entry.
    "mse_mean_over_rows_only": {
        "MSELoss.forward": """
            def forward(self, pred, target):
                self.diff = pred - target
                return float(np.sum(self.diff**2) / len(pred))
        """,
        "MSELoss.backward": """
            def backward(self):
                return 2.0 * self.diff / len(self.diff)
        """,
    },
    # Linear caches the input only on the first forward.
    "linear_caches_first_forward_only": {
        "Linear.forward": """
            def forward(self, X):
                if not hasattr(self, "X"):
                    self.X = X
                return matmul(X, self.W) + self.b
        """,
    },
    # Gradients accumulated as torch does (+=), never zeroed: the notebook's training loop steps
    # with dW after every backward, so the second batch's step would include the first's.
    "linear_grads_accumulate": {
        "Linear.__init__": """
            def __init__(self, in_features, out_features, rng=None):
                r = np.random.default_rng(rng)
                self.W = r.standard_normal((in_features, out_features)) / np.sqrt(in_features)
                self.b = np.zeros((1, out_features))
                self.dW = np.zeros_like(self.W)
                self.db = np.zeros_like(self.b)
        """,
        "Linear.backward": """
            def backward(self, grad_out):
                self.dW += matmul(self.X.T, grad_out)
                self.db += grad_out.sum(axis=0, keepdims=True)
                return matmul(grad_out, self.W.T)
        """,
    },
    # rng ignored: W from the global np.random (cs231n's np.random.randn), the right scale.
    "linear_global_np_random": {
        "Linear.__init__": """
            def __init__(self, in_features, out_features, rng=None):
                self.W = np.random.randn(in_features, out_features) / np.sqrt(in_features)
                self.b = np.zeros((1, out_features))
        """,
    },
    # A Generator passed as rng is ignored (only int seeds are used): fresh weights every time.
    "linear_ignores_a_generator": {
        "Linear.__init__": """
            def __init__(self, in_features, out_features, rng=None):
                r = np.random.default_rng(rng if isinstance(rng, int) else None)
                self.W = r.standard_normal((in_features, out_features)) / np.sqrt(in_features)
                self.b = np.zeros((1, out_features))
        """,
    },
    # rng=None replaced by a fixed seed: every layer of a network starts with the same weights.
    "linear_rng_none_is_seed_zero": {
        "Linear.__init__": """
            def __init__(self, in_features, out_features, rng=None):
                r = np.random.default_rng(0 if rng is None else rng)
                self.W = r.standard_normal((in_features, out_features)) / np.sqrt(in_features)
                self.b = np.zeros((1, out_features))
        """,
    },
    # MSE's N counted as rows times columns: right for 2-D predictions only.
    "mse_count_of_two_dimensions": {
        "MSELoss.backward": """
            def backward(self):
                return 2.0 * self.diff / (self.diff.shape[0] * self.diff.shape[1])
        """,
    },
    # Tanh overwrites its input in place: after a Sigmoid, whose cached output it is, the
    # Sigmoid's backward uses tanh(s) instead of s.
    "tanh_overwrites_its_input": {
        "Tanh.forward": """
            def forward(self, X):
                np.tanh(X, out=X)
                self.T = X
                return X
        """,
    },
    # Sigmoid computed in place in its input: after a Tanh, it overwrites the Tanh's cache.
    "sigmoid_overwrites_its_input": {
        "Sigmoid.forward": """
            def forward(self, X):
                np.negative(X, out=X)
                np.exp(X, out=X)
                X += 1.0
                np.reciprocal(X, out=X)
                self.S = X
                return X
        """,
    },
    # The mask cached in a dict of the class body: one dict for every ReLU, so in a network with
    # two ReLUs the first one's backward uses the second one's mask.
    "relu_cache_dict_in_class_body": {
        "ReLU": """
            class ReLU:
                cache = {}

                def forward(self, X):
                    self.cache["mask"] = X > 0
                    return np.where(self.cache["mask"], X, 0.0)

                def backward(self, grad_out):
                    return grad_out * self.cache["mask"]
        """,
    },
    # Sigmoid caches its output on the first forward only (a lazily set cache never refreshed).
    "sigmoid_caches_first_forward_only": {
        "Sigmoid.forward": """
            def forward(self, X):
                E = np.exp(-np.abs(X))
                S = np.where(X >= 0, 1.0 / (1.0 + E), E / (1.0 + E))
                if not hasattr(self, "S"):
                    self.S = S
                return S
        """,
    },
    # The cross-entropy's softmax and labels kept in a dict of the class body: shared by every
    # loss object.
    "cross_entropy_cache_in_class_body": {
        "SoftmaxCrossEntropy": """
            class SoftmaxCrossEntropy:
                saved = {}

                def forward(self, logits, y):
                    Z = logits - logits.max(axis=1, keepdims=True)
                    log_sum = np.log(np.exp(Z).sum(axis=1, keepdims=True))
                    self.saved["P"], self.saved["y"] = np.exp(Z - log_sum), y
                    return float(np.mean(log_sum[:, 0] - Z[np.arange(len(y)), y]))

                def backward(self):
                    G = self.saved["P"].copy()
                    G[np.arange(len(self.saved["y"])), self.saved["y"]] -= 1.0
                    return G / len(self.saved["y"])
        """,
    },
    # MSELoss keeps the difference of its first forward: every later backward returns that one.
    "mse_backward_uses_the_first_forward": {
        "MSELoss.forward": """
            def forward(self, pred, target):
                if not hasattr(self, "diff"):
                    self.diff = pred - target
                return float(np.mean((pred - target) ** 2))
        """,
    },
    # topo_sort as a breadth-first search from the root, reversed: not topological where a node
    # is reached along paths of different lengths.
    "topo_sort_bfs_reversed": {
        "topo_sort": """
            def topo_sort(root):
                from collections import deque

                order, seen, queue = [], {id(root)}, deque([root])
                while queue:
                    node = queue.popleft()
                    order.append(node)
                    for p in node._prev:
                        if id(p) not in seen:
                            seen.add(id(p))
                            queue.append(p)
                return order[::-1]
        """,
    },
    # Value.relu as self.maximum(0): at 0 the tie goes to self, so the derivative there is 1.
    "value_relu_via_maximum": {
        "Value.relu": """
            def relu(self):
                return self.maximum(0.0)
        """,
    },
    # The max-shift done, then the log of the softmax: a label's probability underflows to 0
    # for a logit ~750 below its row's maximum, and the loss is inf (the notebook asks for
    # m + log sum exp(z - m)).
    "cross_entropy_log_of_shifted_softmax": {
        "SoftmaxCrossEntropy.forward": """
            def forward(self, logits, y):
                Z = logits - logits.max(axis=1, keepdims=True)
                E = np.exp(Z)
                self.P = E / E.sum(axis=1, keepdims=True)
                self.y = y
                return float(-np.mean(np.log(self.P[np.arange(len(y)), y])))
        """,
    },
    # The logits shifted by their maximum in place: the caller's array changes, and when it is a
    # Tanh's output (its cache), the network's backward uses the shifted values.
    "cross_entropy_shifts_the_logits_in_place": {
        "SoftmaxCrossEntropy.forward": """
            def forward(self, logits, y):
                logits -= logits.max(axis=1, keepdims=True)
                log_sum = np.log(np.exp(logits).sum(axis=1, keepdims=True))
                self.P = np.exp(logits - log_sum)
                self.y = y
                return float(np.mean(log_sum[:, 0] - logits[np.arange(len(y)), y]))
        """,
    },
    # The difference computed in place in pred: a Sigmoid whose output it is keeps pred - target.
    "mse_difference_in_place": {
        "MSELoss.forward": """
            def forward(self, pred, target):
                pred -= target
                self.diff = pred
                return float(np.mean(self.diff**2))
        """,
    },
    # maximum with a plain number sends the gradient to self even when the number is larger
    # ("a number has no gradient"): a's grad should then be 0.
    "maximum_with_a_number_grad_always_to_self": {
        "Value.maximum": """
            def maximum(self, other):
                if isinstance(other, Value):
                    self_wins = self.data >= other.data
                    out = Value(max(self.data, other.data), (self, other))

                    def _backward():
                        if self_wins:
                            self.grad += out.grad
                        else:
                            other.grad += out.grad
                else:
                    out = Value(max(self.data, other), (self,))

                    def _backward():
                        self.grad += out.grad

                out._backward = _backward
                return out
        """,
    },
    # An iterative depth-first search that marks a node seen when it is pushed, not when it is
    # expanded: a node pushed but not yet expanded is skipped by a deeper node that uses it, which
    # is then listed before it.
    "topo_sort_seen_when_pushed": {
        "topo_sort": """
            def topo_sort(root):
                order, seen = [], {id(root)}
                stack = [(root, False)]
                while stack:
                    node, done = stack.pop()
                    if done:
                        order.append(node)
                        continue
                    stack.append((node, True))
                    for p in node._prev:
                        if id(p) not in seen:
                            seen.add(id(p))
                            stack.append((p, False))
                return order
        """,
    },
    # The logits shifted by the batch's maximum, not each row's: a row far below it underflows.
    "cross_entropy_shift_by_global_max": {
        "SoftmaxCrossEntropy.forward": """
            def forward(self, logits, y):
                Z = logits - logits.max()
                log_sum = np.log(np.exp(Z).sum(axis=1, keepdims=True))
                self.P = np.exp(Z - log_sum)
                self.y = y
                return float(np.mean(log_sum[:, 0] - Z[np.arange(len(y)), y]))
        """,
    },
    # Local derivatives in a dict keyed by the input node: a * a and a + a keep one entry.
    "local_derivatives_in_a_dict_by_node": {
        "Value.__add__": """
            def __add__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data + other.data, (self, other))
                local = {self: 1.0, other: 1.0}

                def _backward():
                    for node, d in local.items():
                        node.grad += d * out.grad

                out._backward = _backward
                return out
        """,
        "Value.__mul__": """
            def __mul__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data * other.data, (self, other))
                local = {self: other.data, other: self.data}

                def _backward():
                    for node, d in local.items():
                        node.grad += d * out.grad

                out._backward = _backward
                return out
        """,
    },
    # `=` instead of `+=` in log only: a log's input used again elsewhere keeps only the log's share
    # (no random graph reuses a log's input; helper-unseen).
    "value_log_assigns_grad": {
        "Value.log": """
            def log(self):
                out = Value(math.log(self.data), (self,))

                def _backward():
                    self.grad = (1.0 / self.data) * out.grad

                out._backward = _backward
                return out
        """,
    },
    # k * x ** k-1 for k * x ** (k - 1): it parses as k x^k - out.grad.
    "value_pow_derivative_precedence": {
        "Value.__pow__": """
            def __pow__(self, k):
                out = Value(self.data ** k, (self,))

                def _backward():
                    self.grad += k * self.data ** k-1 * out.grad

                out._backward = _backward
                return out
        """,
    },
    # The power's derivative as k * x**k / x: equal to k x^(k-1) except at x = 0, where a relu's 0
    # squared raises ZeroDivisionError (one random graph has one).
    "value_pow_derivative_divides_by_x": {
        "Value.__pow__": """
            def __pow__(self, k):
                out = Value(self.data ** k, (self,))

                def _backward():
                    self.grad += k * out.data / self.data * out.grad

                out._backward = _backward
                return out
        """,
    },
    # -a as 0 - a, and c - a as c + (-a): each calls the other, a RecursionError.
    "value_neg_and_rsub_call_each_other": {
        "Value.__neg__": """
            def __neg__(self):
                return 0.0 - self
        """,
        "Value.__rsub__": """
            def __rsub__(self, other):
                return other + (-self)
        """,
    },
    # A preorder search (root first, inputs after), and a backward that walks it forwards: gradients
    # reach a node before every user has added its share.
    "topo_sort_root_first": {
        "topo_sort": """
            def topo_sort(root):
                order, seen, stack = [], set(), [root]
                while stack:
                    node = stack.pop()
                    if id(node) in seen:
                        continue
                    seen.add(id(node))
                    order.append(node)
                    stack.extend(node._prev)
                return order
        """,
        "Value.backward": """
            def backward(self):
                self.grad = 1.0
                for node in topo_sort(self):
                    node._backward()
        """,
    },
    # db summed without keepdims: shape (out,), not b's (1, out).
    "linear_db_without_keepdims": {
        "Linear.backward": """
            def backward(self, grad_out):
                self.dW = self.X.T @ grad_out
                self.db = grad_out.sum(axis=0)
                return grad_out @ self.W.T
        """,
    },
    # Sequential.backward reverses self.modules in place: right once, then the next forward runs the
    # layers last to first (every test called backward once per network; helper-unseen).
    "sequential_reverses_its_modules_in_place": {
        "Sequential.backward": """
            def backward(self, grad_out):
                self.modules.reverse()
                for module in self.modules:
                    grad_out = module.backward(grad_out)
                return grad_out
        """,
    },
    # The one-hot matrix sized by the largest label present, not by the logits' width: a shape error
    # when the batch lacks the last class.
    "cross_entropy_one_hot_sized_by_labels": {
        "SoftmaxCrossEntropy.backward": """
            def backward(self):
                Y = np.eye(int(self.y.max()) + 1)[self.y]
                return (self.P - Y) / len(self.y)
        """,
    },
    # + and * lift only floats to Values: `2 * a` or `a + 1` with an int raises AttributeError (the
    # hidden tests' constants were all floats; helper-unseen).
    "value_operators_take_floats_only": {
        "Value.__add__": """
            def __add__(self, other):
                if isinstance(other, float):
                    other = Value(other)
                out = Value(self.data + other.data, (self, other))

                def _backward():
                    self.grad += out.grad
                    other.grad += out.grad

                out._backward = _backward
                return out
        """,
        "Value.__mul__": """
            def __mul__(self, other):
                if isinstance(other, float):
                    other = Value(other)
                out = Value(self.data * other.data, (self, other))

                def _backward():
                    self.grad += other.data * out.grad
                    other.grad += self.data * out.grad

                out._backward = _backward
                return out
        """,
    },
    # _prev=[] as a mutable default, extended by +: every Value made without inputs shares one list,
    # so leaves and constants appear to be computed from each other.
    "value_prev_mutable_default_list": {
        "Value.__init__": """
            def __init__(self, data, _prev=[]):
                self.data = float(data)
                self.grad = 0.0
                self._prev = _prev
                self._backward = lambda: None
        """,
        "Value.__add__": """
            def __add__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data + other.data)
                out._prev.extend([self, other])

                def _backward():
                    self.grad += out.grad
                    other.grad += out.grad

                out._backward = _backward
                return out
        """,
    },
    # tanh's derivative as 1 - tanh(t)**2 of the cached output t: the tanh applied twice.
    "tanh_backward_tanh_of_the_output": {
        "Tanh.backward": """
            def backward(self, grad_out):
                return grad_out * (1.0 - np.tanh(self.T) ** 2)
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # micrograd's Value.backward with its own recursive build_topo (topo_sort itself is fine):
    # a chain of 10,000 nodes passes Python's recursion limit.
    "backward_micrograd_recursive_build_topo": {
        "Value.backward": """
            def backward(self):
                topo = []
                visited = set()

                def build_topo(v):
                    if v not in visited:
                        visited.add(v)
                        for child in v._prev:
                            build_topo(child)
                        topo.append(v)

                build_topo(self)
                self.grad = 1
                for v in reversed(topo):
                    v._backward()
        """,
    },
    # "Deep Learning from Scratch" (Saito) Relu: backward zeroes the incoming gradient in place
    # (dout[self.mask] = 0; return dout): the caller's array changes.
    "relu_saito_backward_zeroes_dout_in_place": {
        "ReLU": """
            class ReLU:
                def __init__(self):
                    self.mask = None

                def forward(self, X):
                    self.mask = (X <= 0)
                    out = X.copy()
                    out[self.mask] = 0
                    return out

                def backward(self, grad_out):
                    grad_out[self.mask] = 0
                    dx = grad_out
                    return dx
        """,
    },
    # Saito's SoftmaxWithLoss: cross_entropy_error adds delta = 1e-7 inside the log.
    "cross_entropy_saito_log_plus_delta": {
        "SoftmaxCrossEntropy": """
            def softmax(x):
                x = x - np.max(x, axis=-1, keepdims=True)
                return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


            def cross_entropy_error(y, t):
                if y.ndim == 1:
                    t = t.reshape(1, t.size)
                    y = y.reshape(1, y.size)
                batch_size = y.shape[0]
                return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


            class SoftmaxCrossEntropy:
                def __init__(self):
                    self.loss = None
                    self.y = None
                    self.t = None

                def forward(self, logits, y):
                    self.t = y
                    self.y = softmax(logits)
                    self.loss = cross_entropy_error(self.y, self.t)
                    return float(self.loss)

                def backward(self, dout=1):
                    batch_size = self.t.shape[0]
                    dx = self.y.copy()
                    dx[np.arange(batch_size), self.t] -= 1
                    return dx * dout / batch_size
        """,
    },
    # Karpathy's makemore Linear: weight / bias (bias of shape (fan_out,)), __call__ and
    # parameters(), but not the W, b, dW, db the notebook names.
    "linear_makemore_weight_bias_names": {
        "Linear": """
            class Linear:
                def __init__(self, in_features, out_features, rng=None, bias=True):
                    g = np.random.default_rng(rng)
                    self.weight = g.standard_normal((in_features, out_features)) / in_features**0.5
                    self.bias = np.zeros(out_features) if bias else None

                def __call__(self, x):
                    return self.forward(x)

                def forward(self, X):
                    self.x = X
                    self.out = X @ self.weight
                    if self.bias is not None:
                        self.out += self.bias
                    return self.out

                def backward(self, grad_out):
                    self.weight_grad = self.x.T @ grad_out
                    self.bias_grad = grad_out.sum(0)
                    return grad_out @ self.weight.T

                def parameters(self):
                    return [self.weight] + ([] if self.bias is None else [self.bias])
        """,
    },
    # Students' own mistakes (session s24).
    # __eq__ and __hash__ by data (to compare Values, `a == b`), _prev a set as in micrograd:
    # x + y of two distinct nodes of equal value keeps one of them, whose grad the other never
    # gets; topo_sort's visited set merges them too.
    "value_eq_and_hash_by_data": {
        "Value.__init__": """
            def __init__(self, data, _prev=()):
                self.data = float(data)
                self.grad = 0.0
                self._prev = set(_prev)
                self._backward = lambda: None

            def __eq__(self, other):
                return isinstance(other, Value) and self.data == other.data

            def __hash__(self):
                return hash(self.data)
        """,
        "topo_sort": """
            def topo_sort(root):
                order, seen = [], set()
                stack = [(root, False)]
                while stack:
                    node, children_done = stack.pop()
                    if children_done:
                        order.append(node)
                    elif node not in seen:
                        seen.add(node)
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev)
                return order
        """,
    },
    # The textbook iterative depth-first search (each node listed when popped, its inputs pushed),
    # reversed: a preorder reversed is topological for a tree, not where a node has two users.
    "topo_sort_reversed_preorder": {
        "topo_sort": """
            def topo_sort(root):
                order, seen, stack = [], set(), [root]
                while stack:
                    node = stack.pop()
                    if id(node) in seen:
                        continue
                    seen.add(id(node))
                    order.append(node)
                    stack.extend(node._prev)
                return order[::-1]
        """,
    },
    # No visited set at all: a node reachable along k paths is listed k times, and its
    # _backward runs k times.
    "topo_sort_without_visited_set": {
        "topo_sort": """
            def topo_sort(root):
                order, stack = [], [(root, False)]
                while stack:
                    node, children_done = stack.pop()
                    if children_done:
                        order.append(node)
                    else:
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev)
                return order
        """,
    },
    # The ReLU applied in place in its input (X[X < 0] = 0): the caller's array changes. No
    # network shows it (after a Tanh, whose cached output it clips, the mask stops the gradient
    # exactly where it clipped): test_forward_leaves_its_input_unchanged does.
    "relu_forward_in_place": {
        "ReLU.forward": """
            def forward(self, X):
                X[X < 0] = 0.0
                self.mask = X > 0
                return X
        """,
    },
    # The one-hot subtracted with P[:, y] (whole columns) instead of P[rows, y].
    "cross_entropy_grad_column_indexing": {
        "SoftmaxCrossEntropy.backward": """
            def backward(self):
                G = self.P.copy()
                G[:, self.y] -= 1.0
                return G / len(self.y)
        """,
    },
    # dW and db divided by the batch size in Linear (the loss's 1/B applied a second time).
    "linear_grads_divided_by_batch": {
        "Linear.backward": """
            def backward(self, grad_out):
                B = grad_out.shape[0]
                self.dW = matmul(self.X.T, grad_out) / B
                self.db = grad_out.sum(axis=0, keepdims=True) / B
                return matmul(grad_out, self.W.T)
        """,
    },
    # The power rule on |x| (to avoid "complex" powers of negatives): wrong sign for odd k < 0.
    "pow_derivative_of_abs_base": {
        "Value.__pow__": """
            def __pow__(self, k):
                out = Value(self.data**k, (self,))

                def _backward():
                    self.grad += k * abs(self.data) ** (k - 1) * out.grad

                out._backward = _backward
                return out
        """,
    },
    # tanh from its definition with exp: inf / inf = nan for inputs beyond ~355.
    "tanh_from_exp_overflows": {
        "Tanh.forward": """
            def forward(self, X):
                E = np.exp(2.0 * X)
                self.T = (E - 1.0) / (E + 1.0)
                return self.T
        """,
    },
    # The sigmoid as e^x / (1 + e^x): inf / inf = nan for inputs beyond ~709.
    "sigmoid_exp_over_one_plus_exp": {
        "Sigmoid.forward": """
            def forward(self, X):
                E = np.exp(X)
                self.S = E / (1.0 + E)
                return self.S
        """,
    },
    # Softmax shifted in forward (the loss is right), recomputed unshifted in backward.
    "cross_entropy_backward_recomputes_unshifted_softmax": {
        "SoftmaxCrossEntropy": """
            class SoftmaxCrossEntropy:
                def forward(self, logits, y):
                    Z = logits - logits.max(axis=1, keepdims=True)
                    log_sum = np.log(np.exp(Z).sum(axis=1, keepdims=True))
                    self.logits, self.y = logits, y
                    return float(np.mean(log_sum[:, 0] - Z[np.arange(len(y)), y]))

                def backward(self):
                    E = np.exp(self.logits)
                    G = E / E.sum(axis=1, keepdims=True)
                    G[np.arange(len(self.y)), self.y] -= 1.0
                    return G / len(self.y)
        """,
    },
    # Division as its own node (the quotient rule), the divisor's grad assigned (=), not added:
    # a divisor used elsewhere too keeps only the division's share.
    "value_div_assigns_the_divisor_grad": {
        "Value.__truediv__": """
            def __truediv__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data / other.data, (self, other))

                def _backward():
                    self.grad += out.grad / other.data
                    other.grad = -self.data / other.data**2 * out.grad

                out._backward = _backward
                return out
        """,
    },
    # Subtraction as its own node, the subtrahend's grad assigned (=): b in a - b used elsewhere
    # keeps only the subtraction's share.
    "value_sub_assigns_the_subtrahend_grad": {
        "Value.__sub__": """
            def __sub__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data - other.data, (self, other))

                def _backward():
                    self.grad += out.grad
                    other.grad = -out.grad

                out._backward = _backward
                return out
        """,
    },
    # -a as a new leaf Value(-a.data): no link to a, so a gets no gradient through a negation
    # (nor through a - b, written as a + (-b)).
    "value_neg_detached": {
        "Value.__neg__": """
            def __neg__(self):
                return Value(-self.data)
        """,
    },
    # Review s24. The sigmoid's input clipped to +-500 in place, against exp's overflow: the
    # values are right, but the caller's array changes where |x| > 500, which inputs of size ~2
    # (test_forward_leaves_its_input_unchanged) never reach.
    "sigmoid_clips_its_input_in_place": {
        "Sigmoid.forward": """
            def forward(self, X):
                np.clip(X, -500.0, 500.0, out=X)  # exp(500) is finite
                self.S = 1.0 / (1.0 + np.exp(-X))
                return self.S
        """,
    },
    # tanh as sinh / cosh: inf / inf = nan beyond ~710.
    "tanh_sinh_over_cosh": {
        "Tanh.forward": """
            def forward(self, X):
                self.T = np.sinh(X) / np.cosh(X)
                return self.T
        """,
    },
    # topo_sort without its `return` (None), while backward sorts the graph itself, micrograd's
    # way: every Value test passes, and the topo_sort tests said "the test could not complete:
    # TypeError: 'NoneType' object is not iterable", the error of the test's own list().
    "topo_sort_forgets_return_backward_sorts_itself": {
        "topo_sort": """
            def topo_sort(root):
                order, seen = [], set()
                stack = [(root, False)]
                while stack:
                    node, children_done = stack.pop()
                    if children_done:
                        order.append(node)
                    elif id(node) not in seen:
                        seen.add(id(node))
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev)
        """,
        "Value.backward": BACKWARD_SORTS_ITSELF,
    },
    # topo_sort lists the nodes' data, not the nodes (backward sorts the graph itself): the
    # topological test said it "listed none of them. Does it remember the nodes of an earlier
    # call?", the hint for a global visited set.
    "topo_sort_returns_the_datas": {
        "topo_sort": """
            def topo_sort(root):
                order, seen = [], set()
                stack = [(root, False)]
                while stack:
                    node, children_done = stack.pop()
                    if children_done:
                        order.append(node.data)
                    elif id(node) not in seen:
                        seen.add(id(node))
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev)
                return order
        """,
        "Value.backward": BACKWARD_SORTS_ITSELF,
    },
    # mul's _backward adds `other * out.grad` (a Value) where `other.data * out.grad` was meant:
    # float + Value is a Value (its __radd__), so the grads become Values. The hidden tests said
    # only "float() of an object of your submission was needed", naming no attribute.
    "value_mul_grad_made_of_values": {
        "Value.__mul__": """
            def __mul__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data * other.data, (self, other))

                def _backward():
                    self.grad += other * out.grad
                    other.grad += self * out.grad

                out._backward = _backward
                return out
        """,
    },
    # maximum's two _backward steps made in a loop of lambdas: each closes over the loop
    # variable `node`, which is `other` when they run, so the grad goes to other (twice or not
    # at all) and never to self.
    "value_maximum_loop_lambdas_late_binding": {
        "Value.maximum": """
            def maximum(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(max(self.data, other.data), (self, other))
                steps = []
                for node in (self, other):
                    steps.append(
                        lambda: setattr(node, "grad", node.grad + (node.data == out.data) * out.grad)
                    )

                def _backward():
                    for step in steps:
                        step()

                out._backward = _backward
                return out
        """,
    },
    # ReLU's mask as np.heaviside(X, 0.5): numpy's documented example value at 0 is 0.5, so the
    # derivative at exactly 0 is 0.5 (torch's is 0).
    "relu_heaviside_half_at_zero": {
        "ReLU.forward": """
            def forward(self, X):
                self.d = np.heaviside(X, 0.5)
                return X * self.d
        """,
        "ReLU.backward": """
            def backward(self, grad_out):
                return grad_out * self.d
        """,
    },
    # The sigmoid's derivative from the cached input, e^-x / (1 + e^-x)^2: inf / inf = nan for
    # x below about -355 (the forward itself is the stable one).
    "sigmoid_backward_exp_over_square_of_input": {
        "Sigmoid.forward": """
            def forward(self, X):
                self.X = X
                E = np.exp(-np.abs(X))
                return np.where(X >= 0, 1.0 / (1.0 + E), E / (1.0 + E))
        """,
        "Sigmoid.backward": """
            def backward(self, grad_out):
                e = np.exp(-self.X)
                return grad_out * e / (1.0 + e) ** 2
        """,
    },
    # A general power a ** b with a Value exponent, whose _backward also computes the
    # exponent's derivative a ** b log(a): math.log of a negative base raises ValueError.
    "value_pow_with_value_exponent_log_of_negative": {
        "Value.__pow__": """
            def __pow__(self, k):
                k = k if isinstance(k, Value) else Value(k)
                out = Value(self.data**k.data, (self, k))

                def _backward():
                    self.grad += k.data * self.data ** (k.data - 1) * out.grad
                    k.grad += out.data * math.log(self.data) * out.grad

                out._backward = _backward
                return out
        """,
    },
    # Linear's gradients kept as grad_W and grad_b (the notebook asks for dW and db).
    "linear_grads_under_other_names": {
        "Linear.backward": """
            def backward(self, grad_out):
                self.grad_W = self.X.T @ grad_out
                self.grad_b = grad_out.sum(axis=0, keepdims=True)
                return grad_out @ self.W.T
        """,
    },
    # A loss's backward taking grad_out like a module's (the notebook's takes no argument).
    "cross_entropy_backward_takes_grad_out": {
        "SoftmaxCrossEntropy.backward": """
            def backward(self, grad_out):
                G = self.P.copy()
                G[np.arange(len(self.y)), self.y] -= 1.0
                return grad_out * G / len(self.y)
        """,
    },
    # The per-sample losses returned, the mean forgotten (backward is the mean's).
    "cross_entropy_forward_per_sample_losses": {
        "SoftmaxCrossEntropy.forward": """
            def forward(self, logits, y):
                Z = logits - logits.max(axis=1, keepdims=True)
                log_sum = np.log(np.exp(Z).sum(axis=1, keepdims=True))
                self.P = np.exp(Z - log_sum)
                self.y = y
                return log_sum[:, 0] - Z[np.arange(len(y)), y]
        """,
    },
    # topo_sort returning a set of the nodes (no order at all); backward sorts by itself.
    "topo_sort_returns_a_set": {
        "topo_sort": """
            def topo_sort(root):
                order, seen = [], set()
                stack = [(root, False)]
                while stack:
                    node, children_done = stack.pop()
                    if children_done:
                        order.append(node)
                    elif id(node) not in seen:
                        seen.add(id(node))
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev)
                return set(order)
        """,
        "Value.backward": BACKWARD_SORTS_ITSELF,
    },
}

UNUSUAL = {
    # Kahn's algorithm: in-degrees counted first, then nodes released when all users are done
    # (produces the reverse order, reversed at the end); no recursion, a different order.
    "topo_sort_kahn": {
        "topo_sort": """
            def topo_sort(root):
                users = {id(root): 0}
                nodes, stack = {id(root): root}, [root]
                while stack:
                    node = stack.pop()
                    for p in node._prev:
                        if id(p) not in nodes:
                            nodes[id(p)] = p
                            users[id(p)] = 0
                            stack.append(p)
                        users[id(p)] += 1
                ready, reverse = [root], []
                while ready:
                    node = ready.pop()
                    reverse.append(node)
                    for p in node._prev:
                        users[id(p)] -= 1
                        if users[id(p)] == 0:
                            ready.append(p)
                return reverse[::-1]
        """,
    },
    # A Value that records an operation name and its local derivatives; backward dispatches on
    # nothing but the stored (input, derivative) pairs: no closures at all.
    "value_with_local_derivatives": {
        "Value": """
            class Value:
                def __init__(self, data, _prev=(), _local=()):
                    self.data = float(data)
                    self.grad = 0.0
                    self._prev = tuple(_prev)
                    self._local = tuple(_local)  # d self / d input, one per input

                def _backward(self):
                    for p, d in zip(self._prev, self._local):
                        p.grad += d * self.grad

                @staticmethod
                def _v(x):
                    return x if isinstance(x, Value) else Value(x)

                def __add__(self, other):
                    other = Value._v(other)
                    return Value(self.data + other.data, (self, other), (1.0, 1.0))

                def __mul__(self, other):
                    other = Value._v(other)
                    return Value(self.data * other.data, (self, other), (other.data, self.data))

                def __pow__(self, k):
                    return Value(self.data**k, (self,), (k * self.data ** (k - 1),))

                def __neg__(self):
                    return Value(-self.data, (self,), (-1.0,))

                def __radd__(self, other):
                    return self + other

                def __sub__(self, other):
                    other = Value._v(other)
                    return Value(self.data - other.data, (self, other), (1.0, -1.0))

                def __rsub__(self, other):
                    return Value._v(other) - self

                def __rmul__(self, other):
                    return self * other

                def __truediv__(self, other):
                    other = Value._v(other)
                    q = self.data / other.data
                    return Value(q, (self, other), (1.0 / other.data, -q / other.data))

                def __rtruediv__(self, other):
                    return Value._v(other) / self

                def exp(self):
                    e = math.exp(self.data)
                    return Value(e, (self,), (e,))

                def log(self):
                    return Value(math.log(self.data), (self,), (1.0 / self.data,))

                def tanh(self):
                    t = math.tanh(self.data)
                    return Value(t, (self,), (1.0 - t * t,))

                def relu(self):
                    on = self.data > 0
                    return Value(self.data if on else 0.0, (self,), (1.0 if on else 0.0,))

                def sigmoid(self):
                    s = 0.5 * (1.0 + math.tanh(0.5 * self.data))  # the same function, via tanh
                    return Value(s, (self,), (s * (1.0 - s),))

                def maximum(self, other):
                    other = Value._v(other)
                    if self.data >= other.data:
                        return Value(self.data, (self, other), (1.0, 0.0))
                    return Value(other.data, (self, other), (0.0, 1.0))

                def backward(self):
                    order = topo_sort(self)
                    self.grad = 1.0
                    for node in reversed(order):
                        node._backward()
        """,
    },
    # A Value that stores the name of its operation and does the chain rule in one big backward.
    "value_with_op_names": {
        "Value": """
            class Value:
                def __init__(self, data, _prev=(), _op=""):
                    self.data = float(data)
                    self.grad = 0.0
                    self._prev = tuple(_prev)
                    self._op = _op
                    self._k = None

                @staticmethod
                def _v(x):
                    return x if isinstance(x, Value) else Value(x)

                def __add__(self, other):
                    other = Value._v(other)
                    return Value(self.data + other.data, (self, other), "+")

                __radd__ = __add__

                def __mul__(self, other):
                    other = Value._v(other)
                    return Value(self.data * other.data, (self, other), "*")

                __rmul__ = __mul__

                def __pow__(self, k):
                    out = Value(self.data**k, (self,), "**")
                    out._k = k
                    return out

                def __neg__(self):
                    return self * -1

                def __sub__(self, other):
                    return self + (-Value._v(other))

                def __rsub__(self, other):
                    return Value._v(other) + (-self)

                def __truediv__(self, other):
                    return self * Value._v(other) ** -1

                def __rtruediv__(self, other):
                    return Value._v(other) * self**-1

                def exp(self):
                    return Value(np.exp(self.data), (self,), "exp")

                def log(self):
                    return Value(np.log(self.data), (self,), "log")

                def tanh(self):
                    return Value(np.tanh(self.data), (self,), "tanh")

                def relu(self):
                    return Value(max(self.data, 0.0), (self,), "relu")

                def sigmoid(self):
                    return Value(1.0 / (1.0 + np.exp(-self.data)), (self,), "sigmoid")

                def maximum(self, other):
                    other = Value._v(other)
                    return Value(max(self.data, other.data), (self, other), "max")

                def _backward(self):
                    g, p = self.grad, self._prev
                    if self._op == "+":
                        p[0].grad += g
                        p[1].grad += g
                    elif self._op == "*":
                        p[0].grad += p[1].data * g
                        p[1].grad += p[0].data * g
                    elif self._op == "**":
                        p[0].grad += self._k * p[0].data ** (self._k - 1) * g
                    elif self._op == "exp":
                        p[0].grad += self.data * g
                    elif self._op == "log":
                        p[0].grad += g / p[0].data
                    elif self._op == "tanh":
                        p[0].grad += (1 - self.data**2) * g
                    elif self._op == "relu":
                        p[0].grad += (p[0].data > 0) * g
                    elif self._op == "sigmoid":
                        p[0].grad += self.data * (1 - self.data) * g
                    elif self._op == "max":
                        winner = p[0] if p[0].data >= p[1].data else p[1]
                        winner.grad += g

                def backward(self):
                    order = topo_sort(self)
                    self.grad = 1.0
                    for node in reversed(order):
                        node._backward()
        """,
    },
    # Modules that cache differently: Sigmoid and Tanh keep their input and recompute, ReLU keeps
    # the input, Linear keeps X transposed, the cross-entropy keeps the logits and labels.
    "modules_cache_differently": {
        "Linear.forward": """
            def forward(self, X):
                self.XT = np.array(X).T.copy()
                return X @ self.W + self.b
        """,
        "Linear.backward": """
            def backward(self, grad_out):
                self.dW = self.XT @ grad_out
                self.db = np.ones((1, grad_out.shape[0])) @ grad_out
                return grad_out @ self.W.T
        """,
        "ReLU.forward": """
            def forward(self, X):
                self.X = X
                return np.maximum(X, 0)
        """,
        "ReLU.backward": """
            def backward(self, grad_out):
                return np.where(self.X > 0, grad_out, 0.0)
        """,
        "Sigmoid.forward": """
            def forward(self, X):
                self.X = X
                return 0.5 * (1 + np.tanh(0.5 * X))
        """,
        "Sigmoid.backward": """
            def backward(self, grad_out):
                s = 0.5 * (1 + np.tanh(0.5 * self.X))
                return grad_out * s * (1 - s)
        """,
        "Tanh.forward": """
            def forward(self, X):
                self.X = X
                return np.tanh(X)
        """,
        "Tanh.backward": """
            def backward(self, grad_out):
                return grad_out / np.cosh(self.X) ** 2
        """,
        "SoftmaxCrossEntropy.forward": """
            def forward(self, logits, y):
                self.logits, self.y = logits, y
                lse = np.logaddexp.reduce(logits, axis=1)
                return float(np.mean(lse - logits[np.arange(len(y)), y]))
        """,
        "SoftmaxCrossEntropy.backward": """
            def backward(self):
                Z = self.logits - self.logits.max(axis=1, keepdims=True)
                P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
                onehot = np.eye(P.shape[1])[self.y]
                return (P - onehot) / len(self.y)
        """,
        "Sequential.backward": """
            def backward(self, grad_out):
                for i in range(len(self.modules) - 1, -1, -1):
                    grad_out = self.modules[i].backward(grad_out)
                return grad_out
        """,
    },
    # Loops instead of vectorised NumPy in Linear and the MSE loss.
    "loops": {
        "Linear.backward": """
            def backward(self, grad_out):
                B, n_out = grad_out.shape
                n_in = self.W.shape[0]
                self.dW = np.zeros((n_in, n_out))
                self.db = np.zeros((1, n_out))
                dX = np.zeros((B, n_in))
                for i in range(B):
                    self.dW += np.outer(self.X[i], grad_out[i])
                    self.db[0] += grad_out[i]
                    dX[i] = self.W @ grad_out[i]
                return dX
        """,
        "MSELoss.forward": """
            def forward(self, pred, target):
                self.pred, self.target = pred, target
                total = 0.0
                for p, t in zip(pred.ravel(), target.ravel()):
                    total += (p - t) ** 2
                return total / pred.size
        """,
        "MSELoss.backward": """
            def backward(self):
                return 2.0 * (self.pred - self.target) / self.pred.size
        """,
    },
    # Parameters and gradients in dicts behind properties (W and b with setters), products by
    # np.einsum and np.dot, db a (1, out) view of a 1-D sum, W drawn with normal(0, 1/sqrt(in)).
    "linear_properties_einsum": {
        "Linear": """
            class Linear:

                def __init__(self, in_features, out_features, rng=None):
                    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
                    self._p = {
                        "W": gen.normal(0.0, 1.0 / math.sqrt(in_features), size=(in_features, out_features)),
                        "b": np.zeros((1, out_features)),
                    }
                    self._g = {}

                @property
                def W(self):
                    return self._p["W"]

                @W.setter
                def W(self, value):
                    self._p["W"] = np.asarray(value, dtype=float)

                @property
                def b(self):
                    return self._p["b"]

                @b.setter
                def b(self, value):
                    self._p["b"] = np.asarray(value, dtype=float)

                @property
                def dW(self):
                    return self._g["W"]

                @property
                def db(self):
                    return self._g["b"]

                def forward(self, X):
                    self._cache = X
                    return np.einsum("bi,io->bo", X, self.W) + self.b

                def backward(self, grad_out):
                    self._g["W"] = np.einsum("bi,bo->io", self._cache, grad_out)
                    self._g["b"] = np.einsum("bo->o", grad_out)[np.newaxis, :]   # a view, (1, out)
                    return np.dot(grad_out, self.W.T)
        """,
    },
    # data and grad as numpy float64 scalars, one subclass of Value per kind of node, maximum as
    # relu(a - b) + b, every grad of the graph zeroed at the start of backward, and a topo_sort
    # that walks an explicit stack of child iterators.
    "value_numpy_scalars_node_subclasses": {
        "Value": """
            class Value:

                __slots__ = ("data", "grad", "_prev", "_backward")

                def __init__(self, data, _prev=()):
                    self.data = np.float64(data)
                    self.grad = np.float64(0.0)
                    self._prev = tuple(_prev)
                    self._backward = lambda: None

                def __repr__(self):
                    return f"Value(data={self.data}, grad={self.grad})"

                @staticmethod
                def lift(x):
                    return x if isinstance(x, Value) else Value(x)

                def __add__(self, other):
                    return _Add(self, Value.lift(other))

                __radd__ = __add__

                def __mul__(self, other):
                    return _Mul(self, Value.lift(other))

                __rmul__ = __mul__

                def __pow__(self, k):
                    return _Pow(self, k)

                def __neg__(self):
                    return _Mul(self, Value(-1.0))

                def __sub__(self, other):
                    return _Add(self, -Value.lift(other))

                def __rsub__(self, other):
                    return _Add(Value.lift(other), -self)

                def __truediv__(self, other):
                    return _Mul(self, _Pow(Value.lift(other), -1))

                def __rtruediv__(self, other):
                    return _Mul(Value.lift(other), _Pow(self, -1))

                def exp(self):
                    return _Unary(self, np.exp(self.data), lambda x, y: y)

                def log(self):
                    return _Unary(self, np.log(self.data), lambda x, y: 1 / x)

                def tanh(self):
                    return _Unary(self, np.tanh(self.data), lambda x, y: 1 - y**2)

                def relu(self):
                    return _Unary(self, np.maximum(self.data, 0.0), lambda x, y: np.float64(x > 0))

                def sigmoid(self):
                    return _Unary(self, 0.5 * (1 + np.tanh(self.data / 2)), lambda x, y: y * (1 - y))

                def maximum(self, other):
                    other = Value.lift(other)
                    return (self - other).relu() + other   # max(a, b) = relu(a - b) + b

                def backward(self):
                    for node in topo_sort(self):
                        node.grad = np.float64(0.0)     # zero the whole graph first
                    self.grad = np.float64(1.0)
                    for node in reversed(topo_sort(self)):
                        node._backward()


            class _Add(Value):
                __slots__ = ()

                def __init__(self, a, b):
                    super().__init__(a.data + b.data, (a, b))
                    self._backward = self._bw

                def _bw(self):
                    a, b = self._prev
                    a.grad += self.grad
                    b.grad += self.grad


            class _Mul(Value):
                __slots__ = ()

                def __init__(self, a, b):
                    super().__init__(a.data * b.data, (a, b))
                    self._backward = self._bw

                def _bw(self):
                    a, b = self._prev
                    a.grad += b.data * self.grad
                    b.grad += a.data * self.grad


            class _Pow(Value):
                __slots__ = ("k",)

                def __init__(self, a, k):
                    super().__init__(np.power(a.data, k), (a,))
                    self.k = k
                    self._backward = self._bw

                def _bw(self):
                    (a,) = self._prev
                    a.grad += self.k * np.power(a.data, self.k - 1) * self.grad


            class _Unary(Value):
                __slots__ = ("d",)

                def __init__(self, a, y, d):
                    super().__init__(y, (a,))
                    self.d = d
                    self._backward = self._bw

                def _bw(self):
                    (a,) = self._prev
                    a.grad += self.d(a.data, self.data) * self.grad
        """,
        "topo_sort": """
            def topo_sort(root):
                order, visited = [], {id(root)}
                stack = [(root, iter(root._prev))]
                while stack:
                    node, children = stack[-1]
                    for child in children:
                        if id(child) not in visited:
                            visited.add(id(child))
                            stack.append((child, iter(child._prev)))
                            break
                    else:
                        stack.pop()
                        order.append(node)
                return order
        """,
    },
    # A student's Module base class (__call__, parameters()), __slots__ on Linear, W drawn as
    # (out, in) and transposed (a Fortran-ordered array), products with np.dot.
    "module_base_class_slots_transposed_draw": {
        "Linear": """
            class Module:
                __slots__ = ()

                def __call__(self, *args):
                    return self.forward(*args)

                def parameters(self):
                    return []

            class Linear(Module):
                __slots__ = ("W", "b", "dW", "db", "_X")

                def __init__(self, in_features, out_features, rng=None):
                    gen = np.random.default_rng(rng)
                    self.W = gen.standard_normal((out_features, in_features)).T / math.sqrt(in_features)
                    self.b = np.zeros((1, out_features))

                def parameters(self):
                    return [self.W, self.b]

                def forward(self, X):
                    self._X = X
                    return np.dot(X, self.W) + self.b

                def backward(self, grad_out):
                    self.dW = np.dot(self._X.T, grad_out)
                    self.db = np.sum(grad_out, axis=0, keepdims=True)
                    return np.dot(grad_out, self.W.T)
        """,
    },
    # One elementwise base class: the activations give f and f' (of the input and the output) as
    # static methods; sigmoid as exp(-logaddexp(0, -x)).
    "elementwise_base_class": {
        "ReLU": """
            class _Elementwise:
                def __call__(self, X):
                    return self.forward(X)

                def forward(self, X):
                    self.X, self.out = X, self.f(X)
                    return self.out

                def backward(self, grad_out):
                    return grad_out * self.df(self.X, self.out)

            class ReLU(_Elementwise):
                @staticmethod
                def f(X):
                    return X * (X > 0)

                @staticmethod
                def df(X, Y):
                    return (X > 0).astype(X.dtype)
        """,
        "Sigmoid": """
            class Sigmoid(_Elementwise):
                @staticmethod
                def f(X):
                    return np.exp(-np.logaddexp(0.0, -X))

                @staticmethod
                def df(X, Y):
                    return Y * (1 - Y)
        """,
        "Tanh": """
            class Tanh(_Elementwise):
                f = staticmethod(np.tanh)

                @staticmethod
                def df(X, Y):
                    return 1 - np.square(Y)
        """,
    },
    # Sequential as a subclass of list (modules a property), forward and backward by reduce.
    "sequential_is_a_list": {
        "Sequential": """
            class Sequential(list):
                def __init__(self, *modules):
                    super().__init__(modules)

                @property
                def modules(self):
                    return list(self)

                def forward(self, X):
                    import functools

                    return functools.reduce(lambda acc, m: m.forward(acc), self, X)

                def backward(self, grad_out):
                    import functools

                    return functools.reduce(lambda acc, m: m.backward(acc), self[::-1], grad_out)
        """,
    },
    # dW and db computed lazily, as properties of the cached input and output gradient.
    "linear_lazy_gradient_properties": {
        "Linear": """
            class Linear:
                def __init__(self, in_features, out_features, rng=None):
                    r = np.random.default_rng(rng)
                    self.W = r.normal(0.0, in_features**-0.5, size=(in_features, out_features))
                    self.b = np.zeros((1, out_features))

                def forward(self, X):
                    self._X = X
                    return X @ self.W + self.b

                def backward(self, grad_out):
                    self._G, self._XT = grad_out, self._X.T
                    return grad_out @ self.W.T

                @property
                def dW(self):
                    return self._XT @ self._G

                @property
                def db(self):
                    return self._G.sum(axis=0)[None, :]
        """,
    },
    # A dataclass Value (eq=False) whose operators return NotImplemented for foreign types; -, /,
    # neg, tanh and sigmoid written with the other operations (extra nodes in the graph).
    "value_dataclass_composite_ops": {
        "Value": """
            import dataclasses
            import numbers

            @dataclasses.dataclass(eq=False, repr=False)
            class Value:
                data: float
                _prev: tuple = ()
                grad: float = 0.0
                _backward: object = None

                def __post_init__(self):
                    self.data = float(self.data)
                    self._prev = tuple(self._prev)
                    if self._backward is None:
                        self._backward = lambda: None

                @staticmethod
                def _lift(x):
                    if isinstance(x, Value):
                        return x
                    return Value(x) if isinstance(x, numbers.Real) else NotImplemented

                def _node(self, data, prev, locals_):
                    out = Value(data, prev)

                    def _backward():
                        for p, d in zip(prev, locals_):
                            p.grad += d * out.grad

                    out._backward = _backward
                    return out

                def __add__(self, other):
                    other = Value._lift(other)
                    if other is NotImplemented:
                        return NotImplemented
                    return self._node(self.data + other.data, (self, other), (1.0, 1.0))

                def __mul__(self, other):
                    other = Value._lift(other)
                    if other is NotImplemented:
                        return NotImplemented
                    return self._node(self.data * other.data, (self, other), (other.data, self.data))

                def __pow__(self, k):
                    if not isinstance(k, numbers.Real):
                        return NotImplemented
                    return self._node(self.data**k, (self,), (k * self.data ** (k - 1),))

                __radd__ = __add__
                __rmul__ = __mul__

                def __neg__(self):
                    return self * -1

                def __sub__(self, other):
                    return self + (-other)

                def __rsub__(self, other):
                    return -(self - other)

                def __truediv__(self, other):
                    return self * other**-1

                def __rtruediv__(self, other):
                    return self**-1 * other

                def exp(self):
                    e = math.exp(self.data)
                    return self._node(e, (self,), (e,))

                def log(self):
                    return self._node(math.log(self.data), (self,), (1.0 / self.data,))

                def relu(self):
                    on = self.data > 0
                    return self._node(self.data if on else 0.0, (self,), (float(on),))

                def tanh(self):
                    e = (2 * self).exp()
                    return (e - 1) / (e + 1)

                def sigmoid(self):
                    return 1 / (1 + (-self).exp())

                def maximum(self, other):
                    other = Value._lift(other)
                    first = self.data >= other.data
                    return self._node(max(self.data, other.data), (self, other),
                                      (float(first), float(not first)))

                def backward(self):
                    order = topo_sort(self)
                    self.grad = 1.0
                    for node in reversed(order):
                        node._backward()
        """,
    },
    # topo_sort: a depth-first search over a stack of generators, one per node, each yielding the
    # node's inputs not seen yet.
    "topo_sort_stack_of_generators": {
        "topo_sort": """
            def topo_sort(root):
                def unvisited(node):
                    for p in node._prev:
                        if id(p) not in seen:
                            seen.add(id(p))
                            yield p

                seen, order = {id(root)}, []
                stack = [(root, unvisited(root))]
                while stack:
                    node, children = stack[-1]
                    child = next(children, None)
                    if child is None:
                        stack.pop()
                        order.append(node)
                    else:
                        stack.append((child, unvisited(child)))
                return order
        """,
    },
    # micrograd's engine (Karpathy) nearly verbatim: _prev a set, an _op label, grad and data
    # ints where its code makes them (relu's 0, backward's 1), assert-checked powers, sigmoid
    # composed of other operations; only its recursive topological sort replaced (topo_sort).
    "value_micrograd": {
        "Value": """
            class Value:
                def __init__(self, data, _children=(), _op=''):
                    self.data = data
                    self.grad = 0
                    self._backward = lambda: None
                    self._prev = set(_children)
                    self._op = _op

                def __add__(self, other):
                    other = other if isinstance(other, Value) else Value(other)
                    out = Value(self.data + other.data, (self, other), '+')

                    def _backward():
                        self.grad += out.grad
                        other.grad += out.grad
                    out._backward = _backward
                    return out

                def __mul__(self, other):
                    other = other if isinstance(other, Value) else Value(other)
                    out = Value(self.data * other.data, (self, other), '*')

                    def _backward():
                        self.grad += other.data * out.grad
                        other.grad += self.data * out.grad
                    out._backward = _backward
                    return out

                def __pow__(self, other):
                    assert isinstance(other, (int, float)), "only supporting int/float powers for now"
                    out = Value(self.data**other, (self,), f'**{other}')

                    def _backward():
                        self.grad += (other * self.data**(other-1)) * out.grad
                    out._backward = _backward
                    return out

                def relu(self):
                    out = Value(0 if self.data < 0 else self.data, (self,), 'ReLU')

                    def _backward():
                        self.grad += (out.data > 0) * out.grad
                    out._backward = _backward
                    return out

                def exp(self):
                    out = Value(math.exp(self.data), (self,), 'exp')

                    def _backward():
                        self.grad += out.data * out.grad
                    out._backward = _backward
                    return out

                def log(self):
                    out = Value(math.log(self.data), (self,), 'log')

                    def _backward():
                        self.grad += (1 / self.data) * out.grad
                    out._backward = _backward
                    return out

                def tanh(self):
                    x = self.data
                    t = (math.exp(2*x) - 1)/(math.exp(2*x) + 1)
                    out = Value(t, (self, ), 'tanh')

                    def _backward():
                        self.grad += (1 - t**2) * out.grad
                    out._backward = _backward
                    return out

                def sigmoid(self):
                    return 1 / (1 + (-self).exp())

                def maximum(self, other):
                    other = other if isinstance(other, Value) else Value(other)
                    out = Value(max(self.data, other.data), (self, other), 'max')

                    def _backward():
                        if self.data >= other.data:
                            self.grad += out.grad
                        else:
                            other.grad += out.grad
                    out._backward = _backward
                    return out

                def backward(self):
                    topo = topo_sort(self)
                    self.grad = 1
                    for v in reversed(topo):
                        v._backward()

                def __neg__(self):
                    return self * -1

                def __radd__(self, other):
                    return self + other

                def __sub__(self, other):
                    return self + (-other)

                def __rsub__(self, other):
                    return other + (-self)

                def __rmul__(self, other):
                    return self * other

                def __truediv__(self, other):
                    return self * other**-1

                def __rtruediv__(self, other):
                    return other * self**-1

                def __repr__(self):
                    return f"Value(data={self.data}, grad={self.grad})"
        """,
    },
    # Sequential holding a dict; Linear returning a transposed (Fortran-ordered) dX and dW and a
    # read-only db of stride 0 (np.broadcast_to): views, not fresh C-ordered arrays.
    "sequential_dict_linear_returns_views": {
        "Sequential": """
            class Sequential:
                def __init__(self, *modules):
                    self.modules = dict(enumerate(modules))

                def forward(self, X):
                    for k in sorted(self.modules):
                        X = self.modules[k].forward(X)
                    return X

                def backward(self, grad_out):
                    for k in sorted(self.modules, reverse=True):
                        grad_out = self.modules[k].backward(grad_out)
                    return grad_out
        """,
        "Linear.backward": """
            def backward(self, grad_out):
                self.dW = (grad_out.T @ self.X).T
                self.db = np.broadcast_to(grad_out.sum(axis=0), self.b.shape)
                return (self.W @ grad_out.T).T
        """,
    },
    # A Value with __slots__ storing each input's local derivative at creation (no closures),
    # sigmoid through tanh, a - b as a + (-b) with the constant lifted first.
    "value_slots_local_derivative_tuples": {
        "Value": """
            class Value:
                __slots__ = ("data", "grad", "_prev", "_locals")

                def __init__(self, data, _prev=(), _locals=()):
                    self.data = float(data)
                    self.grad = 0.0
                    self._prev = tuple(_prev)
                    self._locals = tuple(_locals)

                def _backward(self):
                    for child, d in zip(self._prev, self._locals):
                        child.grad += d * self.grad

                @staticmethod
                def lift(x):
                    return x if isinstance(x, Value) else Value(x)

                def __add__(self, o):
                    o = Value.lift(o)
                    return Value(self.data + o.data, (self, o), (1.0, 1.0))

                def __mul__(self, o):
                    o = Value.lift(o)
                    return Value(self.data * o.data, (self, o), (o.data, self.data))

                def __pow__(self, k):
                    return Value(self.data**k, (self,), (k * self.data ** (k - 1),))

                def __neg__(self):
                    return Value(-self.data, (self,), (-1.0,))

                def __radd__(self, o):
                    return Value.lift(o) + self

                def __sub__(self, o):
                    return self + (-Value.lift(o))

                def __rsub__(self, o):
                    return Value.lift(o) + (-self)

                def __rmul__(self, o):
                    return Value.lift(o) * self

                def __truediv__(self, o):
                    return self * Value.lift(o) ** -1

                def __rtruediv__(self, o):
                    return Value.lift(o) * self**-1

                def exp(self):
                    e = math.exp(self.data)
                    return Value(e, (self,), (e,))

                def log(self):
                    return Value(math.log(self.data), (self,), (1 / self.data,))

                def tanh(self):
                    t = math.tanh(self.data)
                    return Value(t, (self,), (1 - t**2,))

                def relu(self):
                    return Value(self.data * (self.data > 0), (self,), (1.0 * (self.data > 0),))

                def sigmoid(self):
                    s = 0.5 * (1 + math.tanh(self.data / 2))
                    return Value(s, (self,), (s * (1 - s),))

                def maximum(self, o):
                    o = Value.lift(o)
                    a = self.data >= o.data
                    return Value(self.data if a else o.data, (self, o), (float(a), float(not a)))

                def backward(self):
                    self.grad = 1.0
                    for node in reversed(topo_sort(self)):
                        node._backward()
        """,
    },
    # Each node's depth (1 + its deepest input's), by an explicit stack, then the nodes sorted by
    # depth: a valid order unlike a depth-first one.
    "topo_sort_by_depth": {
        "topo_sort": """
            def topo_sort(root):
                depth, stack = {}, [root]
                nodes = {}
                while stack:
                    node = stack[-1]
                    if id(node) in depth:
                        stack.pop()
                        continue
                    pending = [p for p in node._prev if id(p) not in depth]
                    if pending:
                        stack.extend(pending)
                        continue
                    stack.pop()
                    nodes[id(node)] = node
                    depth[id(node)] = 1 + max((depth[id(p)] for p in node._prev), default=-1)
                return sorted(nodes.values(), key=lambda n: depth[id(n)])
        """,
    },
    # Recursive, against the notebook's advice, with sys.setrecursionlimit raised to 100,000: the
    # 10,000-node chain still works (Python 3.11's calls between Python functions use no C stack).
    "topo_sort_recursive_with_a_raised_limit": {
        "topo_sort": """
            import sys
            def topo_sort(root):
                sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
                order, seen = [], set()

                def visit(node):
                    if id(node) in seen:
                        return
                    seen.add(id(node))
                    for p in node._prev:
                        visit(p)
                    order.append(node)

                visit(root)
                return order
        """,
    },
    # A stack of iterators, the visited nodes kept in a list (identity checks on its tail, then
    # `in`): quadratic, fast enough at the tests' sizes.
    "topo_sort_list_membership": {
        "topo_sort": """
            def topo_sort(root):
                order, stack = [], [(root, iter(root._prev))]
                visited = [root]
                while stack:
                    node, children = stack[-1]
                    for child in children:
                        if all(child is not v for v in visited[-64:]) and child not in visited:
                            visited.append(child)
                            stack.append((child, iter(child._prev)))
                            break
                    else:
                        stack.pop()
                        order.append(node)
                return order
        """,
    },
    # Class-level defaults (grad, _prev, a no-op _backward method), __radd__ = __add__ aliases,
    # subtraction and division as their own nodes (quotient rule), sigmoid through tanh, and a
    # backward that zeroes the graph's grads first.
    "value_aliases_quotient_rule_zero_grad": {
        "Value": """
            class Value:
                grad = 0.0
                _prev = ()

                def __init__(self, data, _prev=()):
                    self.data = float(data)
                    if _prev:
                        self._prev = tuple(_prev)

                def _backward(self):
                    pass

                def __repr__(self):
                    return f"Value({self.data!r})"

                @staticmethod
                def _lift(x):
                    return x if isinstance(x, Value) else Value(x)

                def _node(self, data, parents, locals_):
                    out = Value(data, parents)
                    def _backward():
                        for p, d in zip(parents, locals_):
                            p.grad += d * out.grad
                    out._backward = _backward
                    return out

                def __add__(self, other):
                    other = Value._lift(other)
                    return self._node(self.data + other.data, (self, other), (1.0, 1.0))

                __radd__ = __add__

                def __mul__(self, other):
                    other = Value._lift(other)
                    return self._node(self.data * other.data, (self, other), (other.data, self.data))

                __rmul__ = __mul__

                def __sub__(self, other):
                    other = Value._lift(other)
                    return self._node(self.data - other.data, (self, other), (1.0, -1.0))

                def __rsub__(self, other):
                    return Value._lift(other) - self

                def __truediv__(self, other):
                    other = Value._lift(other)
                    q = self.data / other.data
                    return self._node(q, (self, other), (1.0 / other.data, -q / other.data))

                def __rtruediv__(self, other):
                    return Value._lift(other) / self

                def __pow__(self, k):
                    return self._node(self.data ** k, (self,), (k * self.data ** (k - 1),))

                def __neg__(self):
                    return self._node(-self.data, (self,), (-1.0,))

                def exp(self):
                    e = math.exp(self.data)
                    return self._node(e, (self,), (e,))

                def log(self):
                    return self._node(math.log(self.data), (self,), (1.0 / self.data,))

                def tanh(self):
                    t = math.tanh(self.data)
                    return self._node(t, (self,), (1.0 - t * t,))

                def relu(self):
                    return self._node(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,))

                def sigmoid(self):
                    s = 0.5 * (1.0 + math.tanh(0.5 * self.data))
                    return self._node(s, (self,), (s * (1.0 - s),))

                def maximum(self, other):
                    other = Value._lift(other)
                    if self.data >= other.data:
                        return self._node(self.data, (self, other), (1.0, 0.0))
                    return self._node(other.data, (self, other), (0.0, 1.0))

                def backward(self):
                    order = topo_sort(self)
                    for node in order:
                        node.grad = 0.0
                    self.grad = 1.0
                    for node in reversed(order):
                        node._backward()
        """,
    },
    # Linear as a dataclass with __post_init__ and tensordot, Sequential by functools.reduce over a
    # tuple, cross-entropy by logaddexp.reduce and take/put_along_axis, Sigmoid recomputed from its
    # cached input via tanh, MSE by vdot.
    "modules_dataclass_reduce_take_along_axis": {
        "Linear": """
            from dataclasses import dataclass, field
            @dataclass
            class Linear:
                in_features: int
                out_features: int
                rng: object = None
                W: np.ndarray = field(init=False, repr=False)
                b: np.ndarray = field(init=False, repr=False)

                def __post_init__(self):
                    gen = self.rng if isinstance(self.rng, np.random.Generator) else np.random.default_rng(self.rng)
                    self.W = gen.normal(0.0, 1.0 / math.sqrt(self.in_features), (self.in_features, self.out_features))
                    self.b = np.zeros((1, self.out_features))

                def forward(self, X):
                    self._X = np.array(X, copy=True)
                    return np.tensordot(X, self.W, axes=1) + self.b

                def backward(self, grad_out):
                    self.dW = np.tensordot(self._X, grad_out, axes=([0], [0]))
                    self.db = np.ones((1, grad_out.shape[0])) @ grad_out
                    return np.tensordot(grad_out, self.W, axes=([1], [1]))
        """,
        "Sequential": """
            import functools
            class Sequential:
                def __init__(self, *modules):
                    self.modules = modules

                def forward(self, X):
                    return functools.reduce(lambda a, m: m.forward(a), self.modules, X)

                def backward(self, grad_out):
                    return functools.reduce(lambda g, m: m.backward(g), self.modules[::-1], grad_out)
        """,
        "SoftmaxCrossEntropy": """
            class SoftmaxCrossEntropy:
                def forward(self, logits, y):
                    y = np.asarray(y).astype(np.intp).reshape(-1, 1)
                    lse = np.logaddexp.reduce(logits, axis=1, keepdims=True)
                    self.P, self.y = np.exp(logits - lse), y
                    return float(np.mean(lse - np.take_along_axis(logits, y, axis=1)))

                def backward(self):
                    G = self.P.copy()
                    np.put_along_axis(G, self.y, np.take_along_axis(G, self.y, axis=1) - 1.0, axis=1)
                    return G / G.shape[0]
        """,
        "Sigmoid": """
            class Sigmoid:
                def forward(self, X):
                    self.X = X
                    return 0.5 * (1.0 + np.tanh(0.5 * X))

                def backward(self, grad_out):
                    s = 0.5 * (1.0 + np.tanh(0.5 * self.X))
                    return grad_out * s * (1.0 - s)
        """,
        "MSELoss": """
            class MSELoss:
                def forward(self, pred, target):
                    self.diff = np.subtract(pred, target)
                    return float(np.vdot(self.diff, self.diff) / self.diff.size)

                def backward(self):
                    return np.multiply(2.0 / self.diff.size, self.diff)
        """,
    },
    # + and * lift ints, floats and NumPy numbers, and return NotImplemented for anything else.
    "value_number_types_or_notimplemented": {
        "Value.__add__": """
            def __add__(self, other):
                if isinstance(other, (int, float, np.integer, np.floating)):
                    other = Value(other)
                elif not isinstance(other, Value):
                    return NotImplemented
                out = Value(self.data + other.data, (self, other))

                def _backward():
                    self.grad += out.grad
                    other.grad += out.grad

                out._backward = _backward
                return out
        """,
        "Value.__mul__": """
            def __mul__(self, other):
                if isinstance(other, (int, float, np.integer, np.floating)):
                    other = Value(other)
                elif not isinstance(other, Value):
                    return NotImplemented
                out = Value(self.data * other.data, (self, other))

                def _backward():
                    self.grad += other.data * out.grad
                    other.grad += self.data * out.grad

                out._backward = _backward
                return out
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # CS231n: layer functions with cache tuples (affine/relu/sigmoid forward and backward,
    # softmax_loss returning (loss, dx)), wrapped by the modules; db reshaped to b's shape.
    "modules_wrap_cs231n_layer_functions": {
        "Linear": """
            def affine_forward(x, w, b):
                out = x.reshape(x.shape[0], -1).dot(w) + b
                cache = (x, w, b)
                return out, cache


            def affine_backward(dout, cache):
                x, w, b = cache
                dx = dout.dot(w.T).reshape(x.shape)
                dw = x.reshape(x.shape[0], -1).T.dot(dout)
                db = np.sum(dout, axis=0).reshape(b.shape)
                return dx, dw, db


            class Linear:
                def __init__(self, in_features, out_features, rng=None):
                    rng = np.random.default_rng(rng)
                    self.W = rng.standard_normal((in_features, out_features)) / np.sqrt(in_features)
                    self.b = np.zeros((1, out_features))

                def forward(self, X):
                    out, self.cache = affine_forward(X, self.W, self.b)
                    return out

                def backward(self, grad_out):
                    dx, self.dW, self.db = affine_backward(grad_out, self.cache)
                    return dx
        """,
        "ReLU": """
            def relu_forward(x):
                out = np.maximum(0, x)
                cache = x
                return out, cache


            def relu_backward(dout, cache):
                dx, x = None, cache
                dx = np.where(x > 0, dout, 0)
                return dx


            class ReLU:
                def forward(self, X):
                    out, self.cache = relu_forward(X)
                    return out

                def backward(self, grad_out):
                    return relu_backward(grad_out, self.cache)
        """,
        "Sigmoid": """
            def sigmoid(x):
                pos_mask = x >= 0
                neg_mask = x < 0
                z = np.zeros_like(x)
                z[pos_mask] = np.exp(-x[pos_mask])
                z[neg_mask] = np.exp(x[neg_mask])
                top = np.ones_like(x)
                top[neg_mask] = z[neg_mask]
                return top / (1 + z)


            class Sigmoid:
                def forward(self, X):
                    self.cache = sigmoid(X)
                    return self.cache

                def backward(self, grad_out):
                    s = self.cache
                    return grad_out * s * (1 - s)
        """,
        "SoftmaxCrossEntropy": """
            def softmax_loss(x, y):
                shifted_logits = x - np.max(x, axis=1, keepdims=True)
                Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
                log_probs = shifted_logits - np.log(Z)
                probs = np.exp(log_probs)
                N = x.shape[0]
                loss = -np.sum(log_probs[np.arange(N), y]) / N
                dx = probs.copy()
                dx[np.arange(N), y] -= 1
                dx /= N
                return loss, dx


            class SoftmaxCrossEntropy:
                def forward(self, logits, y):
                    loss, self.dx = softmax_loss(logits, y)
                    return float(loss)

                def backward(self):
                    return self.dx
        """,
    },
    # micrograd's Value with its recursive build_topo made iterative (a stack of (node, done)),
    # _prev a set, _op labels, sigmoid as 1 / (1 + exp(-x)) with the exp of -|x| only.
    "value_micrograd_iterative_build_topo": {
        "Value.backward": """
            def backward(self):
                topo, visited, stack = [], set(), [(self, False)]
                while stack:
                    v, expanded = stack.pop()
                    if expanded:
                        topo.append(v)
                    elif v not in visited:
                        visited.add(v)
                        stack.append((v, True))
                        for child in v._prev:
                            stack.append((child, False))
                self.grad = 1
                for v in reversed(topo):
                    v._backward()
        """,
    },
    # ChatGPT-style elementwise modules: type hints, docstrings, asserts that hold for any
    # input the notebook allows (same shapes), Tanh and Sigmoid from the cached input.
    "elementwise_typed_from_input": {
        "Tanh": """
            class Tanh:
                \"\"\"Hyperbolic tangent.\"\"\"

                def forward(self, X: np.ndarray) -> np.ndarray:
                    self._input = X
                    return np.tanh(X)

                def backward(self, grad_out: np.ndarray) -> np.ndarray:
                    assert grad_out.shape == self._input.shape, "gradient shape mismatch"
                    return grad_out / np.cosh(self._input) ** 2
        """,
    },
    # Saito's Affine (x, original_x_shape, dW, db) and Relu with a mask, copying dout first.
    "saito_affine_and_relu": {
        "Linear": """
            class Linear:
                def __init__(self, in_features, out_features, rng=None):
                    self.W = np.random.default_rng(rng).standard_normal((in_features, out_features)) / np.sqrt(in_features)
                    self.b = np.zeros((1, out_features))
                    self.x = None
                    self.original_x_shape = None
                    self.dW = None
                    self.db = None

                def forward(self, X):
                    self.original_x_shape = X.shape
                    x = X.reshape(X.shape[0], -1)
                    self.x = x
                    return np.dot(self.x, self.W) + self.b

                def backward(self, grad_out):
                    dx = np.dot(grad_out, self.W.T)
                    self.dW = np.dot(self.x.T, grad_out)
                    self.db = np.sum(grad_out, axis=0, keepdims=True)
                    return dx.reshape(*self.original_x_shape)
        """,
        "ReLU": """
            class ReLU:
                def __init__(self):
                    self.mask = None

                def forward(self, X):
                    self.mask = (X <= 0)
                    out = X.copy()
                    out[self.mask] = 0
                    return out

                def backward(self, grad_out):
                    dx = grad_out.copy()
                    dx[self.mask] = 0
                    return dx
        """,
    },
    # Students' own ways (session s24).
    # The sigmoid straight from its formula, 1 / (1 + exp(-x)): exp overflows to inf for x below
    # -709 (a RuntimeWarning) and 1 / inf is 0, the right value; backward from the input. Tanh as
    # 2 sigmoid(2x) - 1, the same way.
    "activations_naive_formulas_with_overflow_warnings": {
        "Sigmoid": """
            class Sigmoid:
                def forward(self, X):
                    self.X = X
                    return 1 / (1 + np.exp(-X))

                def backward(self, grad_out):
                    s = 1 / (1 + np.exp(-self.X))
                    return grad_out * s * (1 - s)
        """,
        "Tanh": """
            class Tanh:
                def forward(self, X):
                    self.out = 2.0 / (1.0 + np.exp(-2.0 * X)) - 1.0
                    return self.out

                def backward(self, grad_out):
                    return grad_out * (1.0 - self.out * self.out)
        """,
    },
    # Values compared by data (==, <, <=, >, >= against Values or numbers) and hashed by identity,
    # so that sets and dicts of nodes still tell equal values apart; relu and maximum written with
    # the comparisons.
    "value_compared_by_data_hashed_by_identity": {
        "Value.__init__": """
            def __init__(self, data, _prev=()):
                self.data = float(data)
                self.grad = 0.0
                self._prev = tuple(_prev)
                self._backward = lambda: None

            @staticmethod
            def _raw(x):
                return x.data if isinstance(x, Value) else x

            def __eq__(self, other):
                return self.data == Value._raw(other)

            def __lt__(self, other):
                return self.data < Value._raw(other)

            def __le__(self, other):
                return self.data <= Value._raw(other)

            def __gt__(self, other):
                return self.data > Value._raw(other)

            def __ge__(self, other):
                return self.data >= Value._raw(other)

            __hash__ = object.__hash__
        """,
        "Value.relu": """
            def relu(self):
                positive = self > 0
                out = Value(self.data if positive else 0.0, (self,))

                def _backward():
                    if positive:
                        self.grad += out.grad

                out._backward = _backward
                return out
        """,
        "Value.maximum": """
            def maximum(self, other):
                other = other if isinstance(other, Value) else Value(other)
                winner = self if self >= other else other
                out = Value(winner.data, (self, other))

                def _backward():
                    winner.grad += out.grad

                out._backward = _backward
                return out
        """,
    },
    # backward without topo_sort: every node's users counted first, then a node passes its grad
    # down once all of its users have passed theirs (Kahn's algorithm from the root).
    "value_backward_counts_users": {
        "Value.backward": """
            def backward(self):
                users, stack, seen = {}, [self], {id(self)}
                while stack:
                    node = stack.pop()
                    for p in node._prev:
                        users[id(p)] = users.get(id(p), 0) + 1
                        if id(p) not in seen:
                            seen.add(id(p))
                            stack.append(p)
                self.grad = 1.0
                ready = [self]
                while ready:
                    node = ready.pop()
                    node._backward()
                    for p in node._prev:
                        users[id(p)] -= 1
                        if users[id(p)] == 0:
                            ready.append(p)
        """,
    },
    # Review s24. The sigmoid from tanh, (1 + tanh(x / 2)) / 2, and tanh from exp(-2|x|) with
    # the sign put back, each under np.errstate(over="raise") (no exp here can overflow); the
    # ReLU on a copy of its input, clipped there.
    "activations_stable_other_ways": {
        "Sigmoid.forward": """
            def forward(self, X):
                with np.errstate(over="raise"):
                    self.S = 0.5 * (1.0 + np.tanh(0.5 * X))
                return self.S
        """,
        "Tanh.forward": """
            def forward(self, X):
                with np.errstate(over="raise"):
                    E = np.exp(-2.0 * np.abs(X))
                    self.T = np.sign(X) * (1.0 - E) / (1.0 + E)
                return self.T
        """,
        "ReLU.forward": """
            def forward(self, X):
                out = X.copy()
                out[out < 0] = 0.0
                self.mask = out > 0
                return out
        """,
    },
    # topo_sort keeping the finished nodes in a dict by id (insertion-ordered) and returning a
    # tuple of its values.
    "topo_sort_tuple_of_an_ordered_dict": {
        "topo_sort": """
            def topo_sort(root):
                done = {}
                stack = [(root, False)]
                while stack:
                    node, expanded = stack.pop()
                    if expanded:
                        done[id(node)] = node
                    elif id(node) not in done:
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev if id(p) not in done)
                return tuple(done.values())
        """,
    },
    # data and grad as 0-d float64 arrays (np.asarray(data)): every operation on them gives
    # numpy scalars, which the grader reads as numbers.
    "value_data_zero_d_arrays": {
        "Value.__init__": """
            def __init__(self, data, _prev=()):
                self.data = np.asarray(data, dtype=np.float64)
                self.grad = np.zeros(())
                self._prev = tuple(_prev)
                self._backward = lambda: None
        """,
    },
    # A repr that prints the whole graph (recursively, through _prev: it would overflow on the
    # 10,000-node chain if anything printed it) and a __float__ for printing.
    "value_repr_recursive_and_debug_float": {
        "Value.__repr__": """
            def __repr__(self):
                return f"Value({self.data}, grad={self.grad}, prev={list(self._prev)})"

            def __float__(self):
                return self.data
        """,
    },
    # ReLU's mask as np.heaviside(X, 0.0), 0 at exactly 0 as torch's; + 0.0 turns -0.0 into 0.0.
    "relu_heaviside_at_zero_zero": {
        "ReLU.forward": """
            def forward(self, X):
                self.mask = np.heaviside(X, 0.0)
                return X * self.mask + 0.0
        """,
        "ReLU.backward": """
            def backward(self, grad_out):
                return grad_out * self.mask
        """,
    },
    # sigmoid as exp(-log(1 + e^-x)) (np.logaddexp, stable both ways) and its derivative s - s^2;
    # tanh's derivative as sech^2 from a copy of the input (1 / cosh(1000) = 0, no nan).
    "sigmoid_logaddexp_tanh_sech_squared": {
        "Sigmoid.forward": """
            def forward(self, X):
                self.out = np.exp(-np.logaddexp(0.0, -X))
                return self.out
        """,
        "Sigmoid.backward": """
            def backward(self, grad_out):
                return grad_out * (self.out - self.out**2)
        """,
        "Tanh.forward": """
            def forward(self, X):
                self.X = X.copy()
                return np.tanh(X)
        """,
        "Tanh.backward": """
            def backward(self, grad_out):
                return grad_out * (1.0 / np.cosh(self.X)) ** 2
        """,
    },
    # topo_sort memoised by functools.lru_cache on the root (Values hash by identity; the cache
    # keeps them alive, so no id is reused), a fresh list per call; backward reverses that list
    # in place.
    "topo_sort_lru_cached_backward_reverses_in_place": {
        "topo_sort": """
            import functools

            @functools.lru_cache(maxsize=None)
            def _topo_cached(root):
                order, seen = [], set()
                stack = [(root, False)]
                while stack:
                    node, done = stack.pop()
                    if done:
                        order.append(node)
                    elif node not in seen:
                        seen.add(node)
                        stack.append((node, True))
                        stack.extend((p, False) for p in node._prev)
                return tuple(order)

            def topo_sort(root):
                return list(_topo_cached(root))
        """,
        "Value.backward": """
            def backward(self):
                order = topo_sort(self)
                order.reverse()
                self.grad = 1.0
                for node in order:
                    node._backward()
        """,
    },
    # A debugging print left in Value.__init__: one line per node, tens of thousands of them.
    "value_debug_print_in_init": {
        "Value.__init__": """
            def __init__(self, data, _prev=()):
                self.data = float(data)
                self.grad = 0.0
                self._prev = tuple(_prev)
                self._backward = lambda: None
                print("new node", self.data, "from", len(self._prev), "inputs")
        """,
    },
    # Linear's initial W and b in float32 (drawn with dtype=np.float32), and a __call__; the
    # test's float64 W and b replace them before any gradient is compared.
    "linear_float32_init_with_call": {
        "Linear.__init__": """
            def __init__(self, in_features, out_features, rng=None):
                gen = np.random.default_rng(rng)
                draw = gen.standard_normal((in_features, out_features), dtype=np.float32)
                self.W = draw / np.float32(np.sqrt(in_features))
                self.b = np.zeros((1, out_features), dtype=np.float32)

            def __call__(self, X):
                return self.forward(X)
        """,
    },
    # torch.nn.Module's bookkeeping: arrays set as attributes go to a _parameters dict (and dW,
    # db to _grads) through __setattr__, and come back through __getattr__.
    "linear_torch_style_module_getattr": {"Linear": MODULE_BASE + LINEAR_ON_MODULE},
    # The same with a careless __getattr__: a missing attribute raises KeyError, not
    # AttributeError (hasattr and getattr with a default would propagate it).
    "linear_module_getattr_raises_key_error": {"Linear": MODULE_BASE_KEY_ERROR + LINEAR_ON_MODULE},
    # A Value with numpy's array protocol (__array__) and __float__: np.array(values) works.
    "value_with_array_protocol": {
        "Value.__repr__": """
            def __repr__(self):
                return f"Value(data={self.data}, grad={self.grad})"

            def __array__(self, dtype=None, copy=None):
                return np.array(self.data, dtype=dtype)

            def __float__(self):
                return float(self.data)
        """,
    },
    # A Value that is a float (class Value(float)), data a property, equality by identity and
    # hashing by id as object's: math.exp(v) would work on it directly.
    "value_subclasses_float": {"Value": VALUE_SUBCLASSES_FLOAT},
}
