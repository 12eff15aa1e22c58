"""Homework 4's variants (see dlhw.autograder.variants): realistic bugs that must lose points and
correct-but-unusual solutions that must keep full marks. tests/test_homeworks.py grades each
through the real grader; tests/test_hw4_reference.py runs the tests on each in-process."""

BUGS = {
    # eps inside the square root: sqrt(v_hat + eps). At eps = 1e-8 it changes little.
    "adam_eps_inside_sqrt": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / np.sqrt(v_hat + self.eps)
        """,
    },
    # The step counter used before it is advanced: t = 0 on the first step, 1 - beta**0 = 0.
    "adam_bias_correction_t_from_zero": {
        "Adam.step": """
            def step(self, grads):
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
                self.t += 1
        """,
    },
    # The counter advanced inside the loop over arrays: the second array takes step t = 2, ...
    "adam_step_counter_per_array": {
        "Adam.step": """
            def step(self, grads):
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    self.t += 1
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # bias_correction=False accepted but ignored: identical to torch at every setting torch has.
    "adam_ignores_bias_correction_flag": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    m_hat = m / (1 - self.beta1**self.t)
                    v_hat = v / (1 - self.beta2**self.t)
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # "Lazy" Adam: arrays' entries whose gradient is zero are skipped, so momentum stops.
    "adam_skips_zero_gradients": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    seen = g != 0
                    m[seen] = self.beta1 * m[seen] + (1 - self.beta1) * g[seen]
                    v[seen] = self.beta2 * v[seen] + (1 - self.beta2) * g[seen] ** 2
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p[seen] -= self.lr * m_hat[seen] / (np.sqrt(v_hat[seen]) + self.eps)
        """,
    },
    # L2 regularisation in the gradient (Adam with weight decay), not decoupled decay.
    "adamw_coupled_weight_decay": {
        "AdamW.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    g = g + self.weight_decay * p
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    m_hat = m / (1 - self.beta1**self.t)
                    v_hat = v / (1 - self.beta2**self.t)
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # Decay applied after the Adam step, to the already-updated weights.
    "adamw_decay_after_update": {
        "AdamW.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    m_hat = m / (1 - self.beta1**self.t)
                    v_hat = v / (1 - self.beta2**self.t)
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
                    p *= 1 - self.lr * self.weight_decay
        """,
    },
    # Nesterov written as plain (undampened) momentum: the step is v, not g + mu v.
    "nesterov_as_plain_momentum": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v *= self.momentum
                    v += g
                    p -= self.lr * v
        """,
    },
    # RMSprop with the weights swapped: v <- (1 - alpha) v + alpha g^2.
    "rmsprop_alpha_swapped": {
        "RMSprop.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v *= 1 - self.alpha
                    v += self.alpha * g * g
                    p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
    },
    # RMSprop with eps inside the square root.
    "rmsprop_eps_inside_sqrt": {
        "RMSprop.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v *= self.alpha
                    v += (1 - self.alpha) * g * g
                    p -= self.lr * g / np.sqrt(v + self.eps)
        """,
    },
    # A wrong default: alpha=0.9 (Keras' rho) instead of 0.99.
    "rmsprop_default_alpha": {
        "RMSprop.__init__": """
            def __init__(self, params, lr=1e-2, alpha=0.9, eps=1e-8):
                self.params = params
                self.lr, self.alpha, self.eps = lr, alpha, eps
                self.v = [np.zeros_like(p) for p in params]
        """,
    },
    # Adagrad accumulating g instead of g^2 (sqrt of a negative sum: nan).
    "adagrad_accumulates_g": {
        "Adagrad.step": """
            def step(self, grads):
                for p, g, s in zip(self.params, grads, self.s, strict=True):
                    s += g
                    p -= self.lr * g / (np.sqrt(np.abs(s)) + self.eps)
        """,
    },
    # One accumulator per shape: arrays of the same shape share their state.
    "adagrad_state_shared_between_arrays": {
        "Adagrad.__init__": """
            def __init__(self, params, lr=1e-2, eps=1e-10):
                self.params = params
                self.lr, self.eps = lr, eps
                by_shape = {p.shape: np.zeros_like(p) for p in params}
                self.s = [by_shape[p.shape] for p in params]
        """,
    },
    # params rebound: new arrays in self.params, the caller's arrays never move.
    "sgd_params_rebound": {
        "SGD.step": """
            def step(self, grads):
                self.params = [p - self.lr * g for p, g in zip(self.params, grads, strict=True)]
        """,
    },
    # Momentum that damps the gradient in place: the caller's gradients are scaled by 1 - beta.
    "momentum_modifies_grads": {
        "Momentum.step": """
            def step(self, grads):
                for p, g, u in zip(self.params, grads, self.u, strict=True):
                    g *= 1 - self.beta
                    u *= self.beta
                    u += g
                    p -= self.lr * u
        """,
    },
    # Momentum without (1 - beta): torch's undampened buffer with the course's learning rate.
    "momentum_without_one_minus_beta": {
        "Momentum.step": """
            def step(self, grads):
                for p, g, u in zip(self.params, grads, self.u, strict=True):
                    u *= self.beta
                    u += g
                    p -= self.lr * u
        """,
    },
    # Momentum copying torch's first step: u1 = g1 (no damping on the first step).
    "momentum_first_step_undamped": {
        "Momentum": """
            class Momentum:
                def __init__(self, params, lr, beta=0.9):
                    self.params = params
                    self.lr, self.beta = lr, beta
                    self.u = None

                def step(self, grads):
                    if self.u is None:
                        self.u = [g.copy() for g in grads]
                    else:
                        for u, g in zip(self.u, grads, strict=True):
                            u *= self.beta
                            u += (1 - self.beta) * g
                    for p, u in zip(self.params, self.u, strict=True):
                        p -= self.lr * u
        """,
    },
    # Nesterov's buffer set to the first gradient (v1 = g1, right) without a copy: the buffer is
    # the caller's array, and the next step's v *= mu; v += g rewrites the first step's gradients.
    "nesterov_buffer_is_the_first_gradient": {
        "Nesterov": """
            class Nesterov:
                def __init__(self, params, lr, momentum=0.9):
                    self.params = params
                    self.lr, self.momentum = lr, momentum
                    self.v = [None] * len(params)

                def step(self, grads):
                    for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                        if self.v[i] is None:
                            self.v[i] = g
                        else:
                            self.v[i] *= self.momentum
                            self.v[i] += g
                        p -= self.lr * (g + self.momentum * self.v[i])
        """,
    },
    # The optimizer works on its own copies of the parameters (and casts them to float64).
    "adagrad_copies_params": {
        "Adagrad.__init__": """
            def __init__(self, params, lr=1e-2, eps=1e-10):
                self.params = [np.array(p, dtype=np.float64) for p in params]
                self.lr, self.eps = lr, eps
                self.s = [np.zeros_like(p) for p in self.params]
        """,
    },
    # State as a class attribute: every RMSprop object shares one list of accumulators.
    "rmsprop_state_in_class_attribute": {
        "RMSprop": """
            class RMSprop:
                v = []

                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    if not RMSprop.v:
                        RMSprop.v.extend(np.zeros_like(p) for p in params)

                def step(self, grads):
                    for p, g, v in zip(self.params, grads, RMSprop.v, strict=True):
                        v *= self.alpha
                        v += (1 - self.alpha) * g * g
                        p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
    },
    # Momentum's velocity kept in a module-level list of (array, velocity) pairs, found by the
    # array's identity: a new optimizer on the same arrays goes on with the old velocity.
    "momentum_state_found_by_array_identity": {
        "Momentum": """
            _VELOCITIES = []  # (array, velocity) pairs

            def _velocity_of(p):
                for q, u in _VELOCITIES:
                    if q is p:
                        return u
                u = np.zeros_like(p)
                _VELOCITIES.append((p, u))
                return u

            class Momentum:
                def __init__(self, params, lr, beta=0.9):
                    self.params = params
                    self.lr, self.beta = lr, beta

                def step(self, grads):
                    for p, g in zip(self.params, grads, strict=True):
                        u = _velocity_of(p)
                        u *= self.beta
                        u += (1 - self.beta) * g
                        p -= self.lr * u
        """,
    },
    # RMSprop's averages in a mutable default dict keyed by id(p): shared by every RMSprop object
    # (before the restart test, caught only when a later test's arrays reused an earlier id).
    "rmsprop_state_in_mutable_default_by_id": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, state={}):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    self.state = state

                def step(self, grads):
                    for p, g in zip(self.params, grads, strict=True):
                        v = self.state.setdefault(id(p), np.zeros_like(p))
                        v *= self.alpha
                        v += (1 - self.alpha) * g * g
                        p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
    },
    # The paper's "efficient" Adam with eps left as it is (not eps * sqrt(1 - beta2^t)): a
    # different algorithm from torch's, visible at large eps.
    "adam_efficient_form_eps_not_rescaled": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                lr_t = self.lr
                if self.bias_correction:
                    lr_t = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    p -= lr_t * m / (np.sqrt(v) + self.eps)
        """,
    },
    # AdamW's decay without the learning rate: theta <- (1 - weight_decay) theta.
    "adamw_decay_without_lr": {
        "AdamW.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    p *= 1 - self.weight_decay
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    m_hat = m / (1 - self.beta1**self.t)
                    v_hat = v / (1 - self.beta2**self.t)
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # Nesterov's step taken with the velocity before its update: g + mu v_{t-1}.
    "nesterov_step_with_previous_velocity": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    p -= self.lr * (g + self.momentum * v)
                    v *= self.momentum
                    v += g
        """,
    },
    # The velocity rebound inside the loop (u = ...): the stored velocity stays 0 for ever.
    "momentum_velocity_rebound_in_loop": {
        "Momentum.step": """
            def step(self, grads):
                for p, g, u in zip(self.params, grads, self.u, strict=True):
                    u = self.beta * u + (1 - self.beta) * g
                    p -= self.lr * u
        """,
    },
    # Per-array state made on the array's first non-zero gradient, with a step counter of its
    # own (torch's layout, with "no gradient" taken as all zeros): an array without a gradient
    # at first starts its bias correction late (before the zero-gradient test: full marks).
    "adam_lazy_per_array_counter": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction = bias_correction
                    self.state = [None] * len(params)

                def step(self, grads):
                    for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                        if self.state[i] is None:
                            if not np.any(g):
                                continue  # nothing to do yet
                            self.state[i] = {"t": 0, "m": np.zeros_like(p), "v": np.zeros_like(p)}
                        st = self.state[i]
                        st["t"] += 1
                        m, v, t = st["m"], st["v"], st["t"]
                        m *= self.beta1
                        m += (1 - self.beta1) * g
                        v *= self.beta2
                        v += (1 - self.beta2) * g * g
                        if self.bias_correction:
                            m_hat = m / (1 - self.beta1**t)
                            v_hat = v / (1 - self.beta2**t)
                        else:
                            m_hat, v_hat = m, v
                        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # AdamW's lazily made state skips arrays without a gradient yet, and their decay with it
    # (before the zero-gradient test, caught only because the restart test's second optimizer
    # happened to start on the bias's zero steps).
    "adamw_lazy_skips_until_first_gradient": {
        "AdamW": """
            class AdamW:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             weight_decay=1e-2):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.weight_decay = weight_decay
                    self.t = 0
                    self.state = {}

                def step(self, grads):
                    self.t += 1
                    for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                        if i not in self.state:
                            if not g.any():
                                continue
                            self.state[i] = (np.zeros_like(p), np.zeros_like(p))
                        m, v = self.state[i]
                        p *= 1 - self.lr * self.weight_decay
                        m[...] = self.beta1 * m + (1 - self.beta1) * g
                        v[...] = self.beta2 * v + (1 - self.beta2) * g * g
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # Momentum returns early from a step where every gradient is zero ("nothing to do"): the
    # velocity should still decay and move the parameters (before the zero-gradient test: full
    # marks).
    "momentum_skips_all_zero_steps": {
        "Momentum.step": """
            def step(self, grads):
                if not any(np.any(g) for g in grads):
                    return
                for p, g, u in zip(self.params, grads, self.u, strict=True):
                    u *= self.beta
                    u += (1 - self.beta) * g
                    p -= self.lr * u
        """,
    },
    # Adam skips a step where every gradient is zero, its counter with it (before the
    # zero-gradient test: full marks).
    "adam_counts_only_nonzero_steps": {
        "Adam.step": """
            def step(self, grads):
                if not any(np.any(g) for g in grads):
                    return
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # p[:] = ...: a 0-d parameter ("of any shapes") cannot be indexed (before the any-shape
    # test: full marks).
    "sgd_slice_assignment": {
        "SGD.step": """
            def step(self, grads):
                for p, g in zip(self.params, grads, strict=True):
                    p[:] = p - self.lr * g
        """,
    },
    # Adam's averages written with m[:] = ...: fails on a 0-d parameter (before the any-shape
    # test: full marks).
    "adam_slice_assignment_state": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m[:] = self.beta1 * m + (1 - self.beta1) * g
                    v[:] = self.beta2 * v + (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # eps moved before the betas in Adam's signature: every keyword call still works, but
    # Adam(params, 0.01, 0.8, 0.99) takes 0.8 as eps (before the positional test: full marks).
    "adam_signature_reordered": {
        "Adam.__init__": """
            def __init__(self, params, lr=1e-3, eps=1e-8, beta1=0.9, beta2=0.999,
                         bias_correction=True):
                self.params = params
                self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                self.bias_correction = bias_correction
                self.t = 0
                self.m = [np.zeros_like(p) for p in params]
                self.v = [np.zeros_like(p) for p in params]
        """,
    },
    # Hyperparameters keyword-only (`*, lr=...`): Adagrad(params, 0.1) raises TypeError
    # (before the positional test: full marks).
    "adagrad_keyword_only_hyper": {
        "Adagrad.__init__": """
            def __init__(self, params, *, lr=1e-2, eps=1e-10):
                self.params = params
                self.lr, self.eps = lr, eps
                self.s = [np.zeros_like(p) for p in params]
        """,
    },
    # RMSprop(params, **hyper) over a dict of defaults: no positional hyperparameters (before
    # the positional test: full marks).
    "base_class_kwargs_only": {
        "RMSprop": """
            class RMSprop:
                DEFAULTS = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}

                def __init__(self, params, **hyper):
                    self.params = params
                    h = {**self.DEFAULTS, **hyper}
                    self.lr, self.alpha, self.eps = h["lr"], h["alpha"], h["eps"]
                    self.v = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    for p, g, v in zip(self.params, grads, self.v, strict=True):
                        v *= self.alpha
                        v += (1 - self.alpha) * g * g
                        p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
    },
    # step returns self.params; the notebook says it returns None (before the test: full
    # marks).
    "sgd_step_returns_params": {
        "SGD.step": """
            def step(self, grads):
                for p, g in zip(self.params, grads, strict=True):
                    p -= self.lr * g
                return self.params
        """,
    },
    # Nesterov's step returns its velocities (before the returns-None test: full marks).
    "nesterov_step_returns_velocity": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v *= self.momentum
                    v += g
                    p -= self.lr * (g + self.momentum * v)
                return self.v
        """,
    },
    # Adam's bias correction divides the stored averages in place (m /= 1 - beta1**t): the
    # state drifts at every step.
    "adam_bias_correction_in_place": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m /= 1 - self.beta1**self.t
                        v /= 1 - self.beta2**self.t
                    p -= self.lr * m / (np.sqrt(v) + self.eps)
        """,
    },
    # self.m = self.v = [...]: the two averages are one list of arrays.
    "adam_m_and_v_aliased": {
        "Adam.__init__": """
            def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                         bias_correction=True):
                self.params = params
                self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                self.bias_correction = bias_correction
                self.t = 0
                self.m = self.v = [np.zeros_like(p) for p in params]
        """,
    },
    # "Good practice": no decay for 1-d arrays (biases). The notebook decays every array.
    "adamw_no_decay_on_biases": {
        "AdamW.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    if p.ndim > 1:
                        p *= 1 - self.lr * self.weight_decay
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    m_hat = m / (1 - self.beta1**self.t)
                    v_hat = v / (1 - self.beta2**self.t)
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # A module-level step counter, reset by __init__: two optimizers stepped in turn share it
    # (caught by one test only).
    "adam_global_counter": {
        "Adam": """
            STEP = 0

            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    global STEP
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction = bias_correction
                    STEP = 0
                    self.m = [np.zeros_like(p) for p in params]
                    self.v = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    global STEP
                    STEP += 1
                    for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                        m *= self.beta1
                        m += (1 - self.beta1) * g
                        v *= self.beta2
                        v += (1 - self.beta2) * g * g
                        if self.bias_correction:
                            m_hat = m / (1 - self.beta1**STEP)
                            v_hat = v / (1 - self.beta2**STEP)
                        else:
                            m_hat, v_hat = m, v
                        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # RMSprop skips zero-gradient entries: their average does not decay meanwhile.
    "rmsprop_skips_zero_gradients": {
        "RMSprop.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    nz = g != 0
                    v[nz] = self.alpha * v[nz] + (1 - self.alpha) * g[nz] ** 2
                    p[nz] -= self.lr * g[nz] / (np.sqrt(v[nz]) + self.eps)
        """,
    },
    # params converted by np.asarray(p, dtype=float): the same arrays when they are float64, a
    # float64 copy of float32 ones, which the caller never sees (caught by one test only).
    "rmsprop_params_asarray_float": {
        "RMSprop.__init__": """
            def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                self.params = [np.asarray(p, dtype=float) for p in params]
                self.lr, self.alpha, self.eps = lr, alpha, eps
                self.v = [np.zeros_like(p) for p in self.params]
        """,
    },
    # Adagrad with eps inside the square root.
    "adagrad_eps_inside_sqrt": {
        "Adagrad.step": """
            def step(self, grads):
                for p, g, s in zip(self.params, grads, self.s, strict=True):
                    s += g * g
                    p -= self.lr * g / np.sqrt(s + self.eps)
        """,
    },
    # Hyperparameters stored as float32 whatever the parameters' dtype: float64 parameters step
    # with lr 0.0099999998 for 0.01 (2e-8 relative off), which no 8-digit table could show
    # ("got 0.012276561, expected 0.012276561"); the notebook asks float64 arithmetic of them.
    "adam_hyperparameters_cast_to_float32": {
        "Adam.__init__": """
            def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                         bias_correction=True):
                self.params = params
                self.lr, self.beta1, self.beta2, self.eps = (
                    np.float32(h) for h in (lr, beta1, beta2, eps)
                )
                self.bias_correction = bias_correction
                self.t = 0
                self.m = [np.zeros_like(p) for p in params]
                self.v = [np.zeros_like(p) for p in params]
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # torch keeps state['step'] as a float32 tensor (torch.tensor(0.0)); emulated with a 0-d
    # float32 array, 1 - beta2 ** step is then float32 and the float64 trajectory drifts.
    "adam_torch_state_step_float32": {
        "Adam": """
            import math


            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True):
                    self.params = params
                    self.defaults = dict(lr=lr, betas=(beta1, beta2), eps=eps, bias_correction=bias_correction)
                    self.state = [dict() for _ in params]

                def step(self, grads):
                    lr = self.defaults["lr"]
                    beta1, beta2 = self.defaults["betas"]
                    eps = self.defaults["eps"]
                    for param, grad, state in zip(self.params, grads, self.state):
                        if len(state) == 0:
                            state["step"] = np.zeros((), dtype=np.float32)
                            state["exp_avg"] = np.zeros_like(param)
                            state["exp_avg_sq"] = np.zeros_like(param)
                        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                        state["step"] += 1
                        step = state["step"]
                        np.multiply(exp_avg, beta1, out=exp_avg)
                        np.add(exp_avg, (1 - beta1) * grad, out=exp_avg)
                        np.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
                        np.add(exp_avg_sq, (1 - beta2) * grad * grad, out=exp_avg_sq)
                        if self.defaults["bias_correction"]:
                            bias_correction1 = 1 - beta1 ** step
                            bias_correction2 = 1 - beta2 ** step
                        else:
                            bias_correction1 = bias_correction2 = 1.0
                        step_size = lr / bias_correction1
                        bias_correction2_sqrt = math.sqrt(bias_correction2)
                        denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
                        param -= step_size * exp_avg / denom
        """,
    },
    # ChatGPT-style guard: float64 only. Float32 parameters are allowed by the notebook.
    "rmsprop_asserts_float64": {
        "RMSprop.step": """
            def step(self, grads):
                assert len(grads) == len(self.params), "one gradient per parameter"
                for p, g, v in zip(self.params, grads, self.v):
                    assert p.dtype == np.float64, f"expected float64 parameters, got {p.dtype}"
                    assert g.shape == p.shape
                    v *= self.alpha
                    v += (1 - self.alpha) * g * g
                    p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
    },
    # ChatGPT-style guard: parameters must be matrices (a 0-d or 1-d bias is valid).
    "sgd_asserts_2d": {
        "SGD.step": """
            def step(self, grads: list) -> None:
                \"\"\"In-place SGD step.\"\"\"
                for p, g in zip(self.params, grads):
                    assert p.ndim == 2, f"parameter must be 2-D, got shape {p.shape}"
                    p -= self.lr * g
        """,
    },
    # torch's Adagrad with lr_decay copied but the decay applied from step 1 (step not step-1).
    "adagrad_torch_lr_decay_default_nonzero": {
        "Adagrad": """
            class Adagrad:
                def __init__(self, params, lr=1e-2, eps=1e-10, lr_decay=1e-3, initial_accumulator_value=0.0):
                    self.params = params
                    self.lr, self.eps, self.lr_decay = lr, eps, lr_decay
                    self.state = [{"step": 0, "sum": np.full_like(p, initial_accumulator_value)} for p in params]

                def step(self, grads):
                    for param, grad, state in zip(self.params, grads, self.state):
                        state["step"] += 1
                        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
                        state["sum"] += grad * grad
                        std = np.sqrt(state["sum"]) + self.eps
                        param -= clr * grad / std
        """,
    },
    # More from the same sources (torch.optim algorithm boxes, Keras defaults, ChatGPT, Python
    # aliasing and copying gotchas).
    # torch.optim.Adam's algorithm box copied with amsgrad switched on by default ("the fix for
    # Adam's convergence"): the denominator uses the running maximum of v_hat.
    "adam_amsgrad_on_by_default": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True, amsgrad=True):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction, self.amsgrad = bias_correction, amsgrad
                    self.t = 0
                    self.m = [np.zeros_like(p) for p in params]
                    self.v = [np.zeros_like(p) for p in params]
                    self.v_max = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    self.t += 1
                    for p, g, m, v, v_max in zip(self.params, grads, self.m, self.v, self.v_max):
                        m *= self.beta1
                        m += (1 - self.beta1) * g
                        v *= self.beta2
                        v += (1 - self.beta2) * g * g
                        c1 = 1 - self.beta1**self.t if self.bias_correction else 1.0
                        c2 = 1 - self.beta2**self.t if self.bias_correction else 1.0
                        if self.amsgrad:
                            np.maximum(v_max, v, out=v_max)
                            denom = np.sqrt(v_max / c2) + self.eps
                        else:
                            denom = np.sqrt(v / c2) + self.eps
                        p -= self.lr * (m / c1) / denom
        """,
    },
    # RMSprop given Adam's bias correction (v_hat = v / (1 - alpha^t)): not RMSprop's update.
    "rmsprop_bias_corrected": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    self.t = 0
                    self.v = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    self.t += 1
                    for p, g, v in zip(self.params, grads, self.v):
                        v *= self.alpha
                        v += (1 - self.alpha) * g**2
                        v_hat = v / (1 - self.alpha**self.t)
                        p -= self.lr * g / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # Keras' Adagrad defaults: the accumulator starts at 0.1 and eps is 1e-7.
    "adagrad_keras_initial_accumulator": {
        "Adagrad": """
            class Adagrad:
                def __init__(self, params, lr=1e-2, eps=1e-7, initial_accumulator_value=0.1):
                    self.params = params
                    self.lr, self.eps = lr, eps
                    self.s = [np.full_like(p, initial_accumulator_value) for p in params]

                def step(self, grads):
                    for p, g, s in zip(self.params, grads, self.s):
                        s += g * g
                        p -= self.lr * g / (np.sqrt(s) + self.eps)
        """,
    },
    # AdamW as a subclass of Adam that advances the counter itself and then calls Adam's step,
    # which advances it again: t = 2, 4, 6, ...
    "adamw_subclass_counts_twice": {
        "AdamW": """
            class AdamW(Adam):
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             weight_decay=1e-2):
                    super().__init__(params, lr, beta1, beta2, eps)
                    self.weight_decay = weight_decay

                def step(self, grads):
                    self.t += 1
                    for p in self.params:
                        p -= self.lr * self.weight_decay * p
                    super().step(grads)
        """,
    },
    # Nesterov as (1 + mu) v_new - mu v_old with v_old = v (a name for the same array, not a
    # copy): the in-place update changes v_old too, and the step is lr * v (plain momentum).
    "nesterov_old_velocity_not_copied": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v):
                    v_old = v
                    v *= self.momentum
                    v += g
                    p -= self.lr * ((1 + self.momentum) * v - self.momentum * v_old)
        """,
    },
    # [{}] * n: one dict for every array, so the state made for the first array (its shape) is
    # found again for every other.
    "adam_state_list_of_one_dict": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction = bias_correction
                    self.t = 0
                    self.state = [{}] * len(params)

                def step(self, grads):
                    self.t += 1
                    for p, g, state in zip(self.params, grads, self.state):
                        if not state:
                            state["m"] = np.zeros_like(p)
                            state["v"] = np.zeros_like(p)
                        m, v = state["m"], state["v"]
                        m[...] = self.beta1 * m + (1 - self.beta1) * g
                        v[...] = self.beta2 * v + (1 - self.beta2) * g * g
                        if self.bias_correction:
                            m_hat = m / (1 - self.beta1**self.t)
                            v_hat = v / (1 - self.beta2**self.t)
                        else:
                            m_hat, v_hat = m, v
                        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # Velocities kept in float32 "to save memory" whatever the parameters' dtype: float64
    # parameters step with a velocity rounded to 7 digits.
    "momentum_float32_state": {
        "Momentum.__init__": """
            def __init__(self, params, lr, beta=0.9):
                self.params = params
                self.lr, self.beta = lr, beta
                self.u = [np.zeros(p.shape, dtype=np.float32) for p in params]
        """,
    },
    # copy.deepcopy(params) "so the optimizer cannot break the caller's arrays": it updates its
    # own copies, and the network never moves.
    "sgd_deepcopy_params": {
        "SGD.__init__": """
            def __init__(self, params, lr):
                import copy

                self.params = copy.deepcopy(params)
                self.lr = lr
        """,
    },
    # ChatGPT-style "stability": every gradient clipped to [-1, 1] before the update.
    "adam_clips_gradients": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v):
                    g = np.clip(g, -1.0, 1.0)  # gradient clipping for stability
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # self.params[i] = self.params[i] - ...: the list's item is a new array at every step; the
    # caller's arrays (the network's) never move, though opt.params does.
    "momentum_list_item_rebound": {
        "Momentum.step": """
            def step(self, grads):
                for i, g in enumerate(grads):
                    self.u[i] = self.beta * self.u[i] + (1 - self.beta) * g
                    self.params[i] = self.params[i] - self.lr * self.u[i]
        """,
    },
    # Squared averages in a class-level dict keyed by id(p), emptied by __init__ (which made the
    # restart test pass): making a new optimizer, for another model, wipes the state of one
    # still in use (before the two-optimizer test made a third half-way: full marks).
    "rmsprop_class_state_cleared_in_init": {
        "RMSprop": """
            class RMSprop:
                _square_avg = {}  # id(param) -> running average of g**2

                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    self._square_avg.clear()  # start from zero state

                def step(self, grads):
                    for p, g in zip(self.params, grads):
                        v = self._square_avg.setdefault(id(p), np.zeros_like(p))
                        v *= self.alpha
                        v += (1 - self.alpha) * g * g
                        p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
    },
    # Velocities in a class attribute that __init__ rebinds to a new dict: every optimizer
    # reads self.velocities from the class, so a new optimizer leaves the old ones with its
    # empty dict (before the two-optimizer test made a third half-way: full marks).
    "momentum_class_dict_rebound_in_init": {
        "Momentum": """
            class Momentum:
                velocities = {}

                def __init__(self, params, lr, beta=0.9):
                    self.params = params
                    self.lr, self.beta = lr, beta
                    Momentum.velocities = {}

                def step(self, grads):
                    for i, (p, g) in enumerate(zip(self.params, grads)):
                        key = (id(p), i)
                        if key not in self.velocities:
                            self.velocities[key] = np.zeros_like(p)
                        u = self.velocities[key]
                        u *= self.beta
                        u += (1 - self.beta) * g
                        p -= self.lr * u
        """,
    },
    # torch's step_size = lr / (1 - beta1^t) applied to the decay too: the weights shrink by
    # lr * weight_decay / (1 - beta1^t), ten times too much on the first step.
    "adamw_decay_in_the_bias_corrected_step_size": {
        "AdamW.step": """
            def step(self, grads):
                self.t += 1
                bias_correction1 = 1 - self.beta1**self.t
                bias_correction2 = 1 - self.beta2**self.t
                step_size = self.lr / bias_correction1
                for p, g, m, v in zip(self.params, grads, self.m, self.v):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    denom = np.sqrt(v / bias_correction2) + self.eps
                    p -= step_size * (m / denom + self.weight_decay * p)
        """,
    },
    # The average of squares started at the first squared gradient (v1 = g1^2, as some blog
    # posts do "to avoid the cold start"), not at 0.
    "rmsprop_average_starts_at_first_square": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    self.v = None

                def step(self, grads):
                    if self.v is None:
                        self.v = [g * g for g in grads]
                    else:
                        for v, g in zip(self.v, grads):
                            v *= self.alpha
                            v += (1 - self.alpha) * g * g
                    for p, g, v in zip(self.params, grads, self.v):
                        p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
    },
    # More: Nesterov forms that are not torch's, precedence, torch/TF options, lazy state.
    # Momentum's (1 - mu) damping carried over to Nesterov (torch's nesterov needs dampening 0).
    "nesterov_dampened_like_momentum": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v):
                    v *= self.momentum
                    v += (1 - self.momentum) * g
                    p -= self.lr * (g + self.momentum * v)
        """,
    },
    # (1 + mu) v for g + mu v: the same first step (v1 = g), then mu v_{t-1} too much.
    "nesterov_steps_one_plus_mu_times_v": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v):
                    v *= self.momentum
                    v += g
                    p -= self.lr * (1 + self.momentum) * v
        """,
    },
    # Operator precedence: lr * g / sqrt(s) + eps adds eps to the step (and 0 / 0 = nan for
    # rows that never had a gradient).
    "adagrad_eps_added_to_the_step": {
        "Adagrad.step": """
            def step(self, grads):
                for p, g, s in zip(self.params, grads, self.s):
                    s += g * g
                    p -= self.lr * g / np.sqrt(s) + self.eps
        """,
    },
    # The sum of squares rebound to a new local array: the state stays 0, every step is the first.
    "adagrad_sum_of_squares_rebound": {
        "Adagrad.step": """
            def step(self, grads):
                for i, (p, g) in enumerate(zip(self.params, grads)):
                    s = self.s[i]
                    s = s + g**2
                    p -= self.lr * g / (np.sqrt(s) + self.eps)
        """,
    },
    # torch's RMSprop(centered=True), copied from its documentation: v - mean(g)^2.
    "rmsprop_centered": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    self.v = [np.zeros_like(p) for p in params]
                    self.g_avg = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    for p, g, v, g_avg in zip(self.params, grads, self.v, self.g_avg):
                        v *= self.alpha
                        v += (1 - self.alpha) * g * g
                        g_avg *= self.alpha
                        g_avg += (1 - self.alpha) * g
                        p -= self.lr * g / (np.sqrt(v - g_avg * g_avg) + self.eps)
        """,
    },
    # TensorFlow 1's RMSPropOptimizer started its mean square at 1, not 0.
    "rmsprop_tf1_accumulator_starts_at_one": {
        "RMSprop.__init__": """
            def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                self.params = params
                self.lr, self.alpha, self.eps = lr, alpha, eps
                self.v = [np.ones_like(p) for p in params]
        """,
    },
    # beta1 and beta2 exchanged in the moving averages and their corrections.
    "adam_betas_swapped": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v):
                    m *= self.beta2
                    m += (1 - self.beta2) * g
                    v *= self.beta1
                    v += (1 - self.beta1) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta2**self.t)
                        v_hat = v / (1 - self.beta1**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # m corrected, v forgotten: the first step about 3 lr (1 / sqrt(1 - beta2) times lr / 10).
    "adam_bias_correction_on_m_only": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    m_hat = m / (1 - self.beta1**self.t) if self.bias_correction else m
                    p -= self.lr * m_hat / (np.sqrt(v) + self.eps)
        """,
    },
    # State made at the first step from (1 - beta) * g: for a 0-d gradient that is a NumPy
    # scalar, which the next step cannot update in place (m[...] = ... raises TypeError).
    "adam_state_made_at_the_first_step_as_scalars": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction = bias_correction
                    self.t = 0
                    self.m = self.v = None

                def step(self, grads):
                    self.t += 1
                    if self.m is None:
                        self.m = [(1 - self.beta1) * g for g in grads]
                        self.v = [(1 - self.beta2) * g * g for g in grads]
                    else:
                        for g, m, v in zip(grads, self.m, self.v):
                            m[...] = self.beta1 * m + (1 - self.beta1) * g
                            v[...] = self.beta2 * v + (1 - self.beta2) * np.square(g)
                    c1 = 1 - self.beta1**self.t if self.bias_correction else 1.0
                    c2 = 1 - self.beta2**self.t if self.bias_correction else 1.0
                    for p, m, v in zip(self.params, self.m, self.v):
                        p -= self.lr * (m / c1) / (np.sqrt(v) / np.sqrt(c2) + self.eps)
        """,
    },
    # Adam's bias correction carried over to momentum: the first step lr g, not lr (1 - beta) g.
    "momentum_bias_corrected_like_adam": {
        "Momentum": """
            class Momentum:
                def __init__(self, params, lr, beta=0.9):
                    self.params = params
                    self.lr, self.beta = lr, beta
                    self.u = [np.zeros_like(p) for p in params]
                    self.t = 0

                def step(self, grads):
                    self.t += 1
                    for p, g, u in zip(self.params, grads, self.u):
                        u *= self.beta
                        u += (1 - self.beta) * g
                        p -= self.lr * u / (1 - self.beta**self.t)
        """,
    },
    # np.empty_like "as the first step fills it": the velocity starts as whatever memory held.
    "momentum_state_np_empty_like": {
        "Momentum.__init__": """
            def __init__(self, params, lr, beta=0.9):
                self.params = params
                self.lr, self.beta = lr, beta
                self.u = [np.empty_like(p) for p in params]
        """,
    },
    # The decay term lambda * theta added to m only (half of Adam + L2, half of AdamW).
    "adamw_decay_folded_into_m": {
        "AdamW.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v):
                    m *= self.beta1
                    m += (1 - self.beta1) * (g + self.weight_decay * p)
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    m_hat = m / (1 - self.beta1**self.t)
                    v_hat = v / (1 - self.beta2**self.t)
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # range(len(params) - 1): the last array (here the embedding) never moves.
    "sgd_skips_the_last_array": {
        "SGD.step": """
            def step(self, grads):
                for i in range(len(self.params) - 1):
                    self.params[i] -= self.lr * grads[i]
        """,
    },
    # An unseen class's (helper-written from the stub alone; earlier ones did not include these).
    # The counter starts at 1 and is advanced before use: the first step is taken as t = 2.
    "adam_counter_starts_at_one": {
        "Adam.__init__": """
            def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                         bias_correction=True):
                self.params = params
                self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                self.bias_correction = bias_correction
                self.t = 1
                self.m = [np.zeros_like(p) for p in params]
                self.v = [np.zeros_like(p) for p in params]
        """,
    },
    # (1 - beta)**t for 1 - beta**t: a misplaced parenthesis.
    "adam_correction_misparenthesised": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1) ** self.t
                        v_hat = v / (1 - self.beta2) ** self.t
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # Copy-paste slip: v corrected with beta1's power.
    "adam_v_corrected_with_beta1": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta1**self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # The moving average's weights swapped: u <- (1 - beta) u + beta g.
    "momentum_average_weights_swapped": {
        "Momentum.step": """
            def step(self, grads):
                for p, g, u in zip(self.params, grads, self.u, strict=True):
                    u[...] = (1 - self.beta) * u + self.beta * g
                    p -= self.lr * u
        """,
    },
    # Velocities in a class-level dict keyed by position: every Momentum object shares them.
    "momentum_velocities_in_a_class_dict": {
        "Momentum": """
            class Momentum:
                velocity = {}

                def __init__(self, params, lr, beta=0.9):
                    self.params = params
                    self.lr, self.beta = lr, beta

                def step(self, grads):
                    for i, (p, g) in enumerate(zip(self.params, grads)):
                        u = self.velocity.get(i, np.zeros_like(p))
                        u = self.beta * u + (1 - self.beta) * g
                        self.velocity[i] = u
                        p -= self.lr * u
        """,
    },
    # lr in the velocity and again in the step: the momentum term is scaled by lr twice.
    "nesterov_lr_applied_twice": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v *= self.momentum
                    v += self.lr * g
                    p -= self.lr * (g + self.momentum * v)
        """,
    },
    # SGD scales the gradient in place (g *= lr; p -= g): the caller's gradients change.
    "sgd_scales_grads_in_place": {
        "SGD.step": """
            def step(self, grads):
                for p, g in zip(self.params, grads):
                    g *= self.lr
                    p -= g
        """,
    },
    # float64 state for float32 arrays, the new values written into p and then the float64
    # result put in the list too: opt.params (the caller's list) ends up float64.
    "adam_list_entries_replaced_by_float64": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
                    self.bc = bias_correction
                    self.t = 0
                    self.m = [np.zeros(p.shape) for p in params]
                    self.v = [np.zeros(p.shape) for p in params]

                def step(self, grads):
                    self.t += 1
                    for i, g in enumerate(grads):
                        self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
                        self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g**2
                        mh, vh = self.m[i], self.v[i]
                        if self.bc:
                            mh, vh = mh / (1 - self.b1**self.t), vh / (1 - self.b2**self.t)
                        new = self.params[i] - self.lr * mh / (np.sqrt(vh) + self.eps)
                        self.params[i][...] = new
                        self.params[i] = new
        """,
    },
}

UNUSUAL = {
    # Adam in the paper's "efficient" form: the corrections folded into a step size, with eps
    # rescaled to match (eps_hat = eps * sqrt(1 - beta2^t)); running powers instead of **t.
    "adam_efficient_form": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.hyper = (lr, beta1, beta2, eps, bias_correction)
                    self.b1_t = self.b2_t = 1.0
                    self.m = [np.zeros_like(p) for p in params]
                    self.v = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    lr, beta1, beta2, eps, correct = self.hyper
                    self.b1_t *= beta1
                    self.b2_t *= beta2
                    if correct:
                        alpha_t = lr * np.sqrt(1 - self.b2_t) / (1 - self.b1_t)
                        eps_hat = eps * np.sqrt(1 - self.b2_t)
                    else:
                        alpha_t, eps_hat = lr, eps
                    for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                        m[...] = beta1 * m + (1 - beta1) * g
                        v[...] = beta2 * v + (1 - beta2) * np.square(g)
                        p[...] = p - alpha_t * m / (np.sqrt(v) + eps_hat)
        """,
    },
    # Moving averages as u += (1 - beta)(g - u), Nesterov as (1 + mu) v_new - mu v_old, and
    # updates through np.subtract(..., out=p).
    "ema_increments_and_nesterov_lookahead": {
        "Momentum.step": """
            def step(self, grads):
                for p, g, u in zip(self.params, grads, self.u, strict=True):
                    u += (1 - self.beta) * (g - u)
                    np.subtract(p, self.lr * u, out=p)
        """,
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v_old = v.copy()
                    v *= self.momentum
                    v += g
                    np.subtract(p, self.lr * ((1 + self.momentum) * v - self.momentum * v_old), out=p)
        """,
        "RMSprop.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v += (1 - self.alpha) * (g**2 - v)
                    np.subtract(p, self.lr * g / (np.sqrt(v) + self.eps), out=p)
        """,
    },
    # State created lazily on the first step, in dicts keyed by position, computed in float64
    # and cast back to the parameters' dtype; params kept as a tuple.
    "lazy_float64_state": {
        "Adagrad": """
            class Adagrad:
                def __init__(self, params, lr=1e-2, eps=1e-10):
                    self.params = tuple(params)
                    self.lr, self.eps = lr, eps
                    self.state = {}

                def step(self, grads):
                    for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                        s = self.state.setdefault(i, np.zeros(p.shape, dtype=np.float64))
                        s += np.asarray(g, dtype=np.float64) ** 2
                        update = self.lr * g / (np.sqrt(s) + self.eps)
                        p -= update.astype(p.dtype)
        """,
        "AdamW": """
            class AdamW:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             weight_decay=1e-2):
                    self.params = tuple(params)
                    self.lr, self.betas, self.eps, self.wd = lr, (beta1, beta2), eps, weight_decay
                    self.state = {}
                    self.t = 0

                def step(self, grads):
                    self.t += 1
                    b1, b2 = self.betas
                    for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                        if i not in self.state:
                            self.state[i] = (np.zeros(p.shape), np.zeros(p.shape))
                        m, v = self.state[i]
                        g64 = np.asarray(g, dtype=np.float64)
                        m[...] = b1 * m + (1 - b1) * g64
                        v[...] = b2 * v + (1 - b2) * g64 * g64
                        m_hat = m / (1 - b1**self.t)
                        v_hat = v / (1 - b2**self.t)
                        new = (1 - self.lr * self.wd) * p - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
                        p[...] = new
        """,
    },
    # One base class for all seven: the loop, the state and the in-place update written once.
    "shared_base_class": {
        "SGD": """
            class _Optimizer:
                slots = ()

                def __init__(self, params, **hyper):
                    self.params = list(params)
                    self.__dict__.update(hyper)
                    self.t = 0
                    self.state = [{k: np.zeros_like(p) for k in self.slots} for p in self.params]

                def step(self, grads):
                    self.t += 1
                    for p, g, state in zip(self.params, grads, self.state, strict=True):
                        p -= self.direction(p, g, **state)

            class SGD(_Optimizer):
                def __init__(self, params, lr):
                    super().__init__(params, lr=lr)

                def direction(self, p, g):
                    return self.lr * g
        """,
        "Adam": """
            class Adam(_Optimizer):
                slots = ("m", "v")

                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                                     bias_correction=bias_correction)

                def direction(self, p, g, m, v):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g**2
                    c1 = 1 - self.beta1**self.t if self.bias_correction else 1.0
                    c2 = 1 - self.beta2**self.t if self.bias_correction else 1.0
                    return self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
        """,
    },
    # SGD as a dataclass (fields params and lr, its generated __eq__ makes it unhashable),
    # the update through np.subtract(..., out=p).
    "sgd_dataclass": {
        "SGD": """
            from dataclasses import dataclass

            @dataclass
            class SGD:
                params: list
                lr: float

                def step(self, grads):
                    for p, g in zip(self.params, grads, strict=True):
                        np.subtract(p, self.lr * g, out=p)
        """,
    },
    # Nesterov in CS231n's form: w = -lr v, w <- mu w - lr g, theta += -mu w_prev + (1 + mu) w
    # (the same steps while lr is constant); the state list's items replaced, not updated.
    "nesterov_cs231n_form": {
        "Nesterov.step": """
            def step(self, grads):
                for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                    w_prev = -self.lr * self.v[i]
                    w = self.momentum * w_prev - self.lr * g
                    p += -self.momentum * w_prev + (1 + self.momentum) * w
                    self.v[i] = w / -self.lr
        """,
    },
    # A student's base class: hyperparameters in a dict read through __getattr__, per-array state
    # dicts filled on the first step, an update hook per class; AdamW's decay written in the same
    # expression as the Adam step (both use the old theta).
    "base_class_with_update_hooks": {
        "Adagrad": """
            class Optimizer:
                def __init__(self, params, **hyper):
                    self.params = params
                    self.hyper = hyper
                    self.state = [dict() for _ in params]
                    self.steps = 0

                def __getattr__(self, name):
                    try:
                        return self.__dict__["hyper"][name]
                    except KeyError:
                        raise AttributeError(name) from None

                def step(self, grads):
                    self.steps += 1
                    for i in range(len(self.params)):
                        self.update(self.params[i], grads[i], self.state[i])

                def update(self, p, g, state):
                    raise NotImplementedError

            class Adagrad(Optimizer):
                def __init__(self, params, lr=1e-2, eps=1e-10):
                    super().__init__(params, lr=lr, eps=eps)

                def update(self, p, g, state):
                    s = state.setdefault("sum", np.zeros_like(p))
                    np.add(s, np.square(g), out=s)
                    p -= self.lr * g * (1.0 / (np.sqrt(s) + self.eps))
        """,
        "AdamW": """
            class AdamW(Optimizer):
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             weight_decay=1e-2):
                    super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                                     weight_decay=weight_decay)

                def update(self, p, g, state):
                    if not state:
                        state["m"], state["v"] = np.zeros_like(p), np.zeros_like(p)
                    m, v, t = state["m"], state["v"], self.steps
                    m[...] = self.beta1 * m + (1 - self.beta1) * g
                    v[...] = self.beta2 * v + (1 - self.beta2) * g**2
                    adam = (m / (1 - self.beta1**t)) / (np.sqrt(v / (1 - self.beta2**t)) + self.eps)
                    p -= self.lr * (adam + self.weight_decay * p)
        """,
    },
    # params behind a property whose setter wraps them in a list subclass, lr and beta read-only
    # properties of a dict, velocities made from the first gradients, keyed by position.
    "properties_and_param_list_subclass": {
        "Momentum": """
            class ParamList(list):
                pass

            class Momentum:
                def __init__(self, params, lr, beta=0.9):
                    self.params = params
                    self._hyper = {"lr": lr, "beta": beta}
                    self._u = {}

                @property
                def params(self):
                    return self._params

                @params.setter
                def params(self, value):
                    self._params = ParamList(value)

                @property
                def lr(self):
                    return self._hyper["lr"]

                @property
                def beta(self):
                    return self._hyper["beta"]

                def step(self, grads):
                    for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                        u = self._u.get(i)
                        if u is None:
                            u = self._u[i] = np.zeros_like(g)
                        u[...] = self.beta * u + (1 - self.beta) * g
                        p -= self.lr * u
        """,
    },
    # torch's own arithmetic: m += (1 - beta1)(g - m), denominator sqrt(v) / sqrt(c2) + eps and
    # step size lr / c1, corrections by math.pow.
    "adam_torch_denominator_form": {
        "Adam.step": """
            def step(self, grads):
                import math

                self.t += 1
                c1 = 1 - math.pow(self.beta1, self.t) if self.bias_correction else 1.0
                c2 = 1 - math.pow(self.beta2, self.t) if self.bias_correction else 1.0
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    m += (1 - self.beta1) * (g - m)
                    v *= self.beta2
                    v += (1 - self.beta2) * np.square(g)
                    denom = np.sqrt(v) / math.sqrt(c2) + self.eps
                    p -= (self.lr / c1) * m / denom
        """,
    },
    # float64 state whatever the parameters' dtype (the update cast back by -=); Nesterov's step
    # as two in-place subtractions.
    "float64_state_two_subtractions": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    self.v = [np.zeros(p.shape) for p in params]

                def step(self, grads):
                    for p, g, v in zip(self.params, grads, self.v, strict=True):
                        g = g.astype(np.float64)
                        v *= self.alpha
                        v += (1 - self.alpha) * g * g
                        p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v *= self.momentum
                    v += g
                    p -= self.lr * g
                    p -= self.lr * self.momentum * v
        """,
    },
    # A dataclass with a ClassVar dict of defaults: correct in Jupyter, but its cell failed in
    # the worker while cells were compiled with the worker's `from __future__ import annotations`
    # (string annotations: ClassVar not recognised, the dict a "mutable default").
    "dataclass_with_classvar_defaults": {
        "Adagrad": """
            from dataclasses import dataclass, field
            from typing import ClassVar

            @dataclass(eq=False)
            class Adagrad:
                DEFAULTS: ClassVar[dict] = {"lr": 1e-2, "eps": 1e-10}
                params: list
                lr: float = DEFAULTS["lr"]
                eps: float = DEFAULTS["eps"]
                s: list = field(init=False)

                def __post_init__(self):
                    self.s = [np.zeros_like(p) for p in self.params]

                def step(self, grads):
                    for p, g, s in zip(self.params, grads, self.s, strict=True):
                        s += g * g
                        p -= self.lr * g / (np.sqrt(s) + self.eps)
        """,
    },
    # torch's undampened buffer b = beta b + g, stepped with lr (1 - beta): the notebook's
    # own derivation of the course's form.
    "momentum_torch_buffer_scaled_lr": {
        "Momentum.step": """
            def step(self, grads):
                for p, g, b in zip(self.params, grads, self.u, strict=True):
                    b *= self.beta
                    b += g
                    p -= self.lr * (1 - self.beta) * b
        """,
    },
    # Bengio et al.'s form: w = mu w - lr g, theta += mu^2 w_prev - (1 + mu) lr g (the same
    # steps while lr is constant); the state list's items replaced.
    "nesterov_bengio_form": {
        "Nesterov.step": """
            def step(self, grads):
                mu = self.momentum
                for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
                    w_prev = -self.lr * self.v[i]
                    p += mu * mu * w_prev - (1 + mu) * self.lr * g
                    self.v[i] = (mu * w_prev - self.lr * g) / -self.lr
        """,
    },
    # The true theta (not the look-ahead) kept in the object in float64; the caller's array
    # is written the look-ahead point theta - lr mu v at every step.
    "nesterov_keeps_true_theta": {
        "Nesterov": """
            class Nesterov:
                def __init__(self, params, lr, momentum=0.9):
                    self.params = params
                    self.lr, self.momentum = lr, momentum
                    self.theta = [p.astype(np.float64) for p in params]
                    self.v = [np.zeros(p.shape) for p in params]

                def step(self, grads):
                    for p, theta, v, g in zip(self.params, self.theta, self.v, grads, strict=True):
                        v *= self.momentum
                        v += g
                        theta -= self.lr * v
                        p[...] = theta - self.lr * self.momentum * v
        """,
    },
    # Per-array state objects with a step count each (torch's layout), all advancing
    # together; the averages rebound, not updated in place.
    "adam_per_array_state_objects": {
        "Adam": """
            class _AdamState:
                __slots__ = ("m", "v", "step")

                def __init__(self, like):
                    self.m = np.zeros_like(like)
                    self.v = np.zeros_like(like)
                    self.step = 0

            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.betas, self.eps = lr, (beta1, beta2), eps
                    self.bias_correction = bias_correction
                    self.states = [_AdamState(p) for p in params]

                def step(self, grads):
                    b1, b2 = self.betas
                    for p, g, st in zip(self.params, grads, self.states, strict=True):
                        st.step += 1
                        st.m = b1 * st.m + (1 - b1) * g
                        st.v = b2 * st.v + (1 - b2) * np.square(g)
                        m_hat, v_hat = st.m, st.v
                        if self.bias_correction:
                            m_hat = st.m / (1 - b1**st.step)
                            v_hat = st.v / (1 - b2**st.step)
                        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # AdamW as a subclass of Adam: decay every array, then Adam's step.
    "adamw_subclass_of_adam": {
        "AdamW": """
            class AdamW(Adam):
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             weight_decay=1e-2):
                    super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
                    self.weight_decay = weight_decay

                def step(self, grads):
                    for p in self.params:
                        p *= 1 - self.lr * self.weight_decay
                    super().step(grads)
        """,
    },
    # Adagrad updating only the entries with a non-zero gradient: the same steps (a zero
    # gradient adds nothing to s and moves nothing), unlike Adam's or RMSprop's.
    "adagrad_masked_update": {
        "Adagrad.step": """
            def step(self, grads):
                for p, g, s in zip(self.params, grads, self.s, strict=True):
                    nz = g != 0
                    s[nz] += g[nz] ** 2
                    p[nz] -= self.lr * g[nz] / (np.sqrt(s[nz]) + self.eps)
        """,
    },
    # Adagrad's sums in one flat buffer, a reshaped view of it per array (0-d ones too).
    "adagrad_flat_buffer_views": {
        "Adagrad.__init__": """
            def __init__(self, params, lr=1e-2, eps=1e-10):
                self.params = params
                self.lr, self.eps = lr, eps
                sizes = [p.size for p in params]
                dtype = np.result_type(*params) if params else float
                self._flat = np.zeros(sum(sizes), dtype=dtype)
                offsets = np.cumsum([0] + sizes)
                self.s = [
                    self._flat[a:b].reshape(p.shape)
                    for a, b, p in zip(offsets[:-1], offsets[1:], params)
                ]
        """,
    },
    # SGD with extras (state_dict, a zero_grad of its own), grads copied into a list, and
    # self.params[i] -= ...: an augmented assignment to a list item updates the array in place.
    "sgd_extras_and_item_isub": {
        "SGD": """
            class SGD:
                def __init__(self, params, lr):
                    self.params = params
                    self.lr = lr

                def state_dict(self):
                    return {"lr": self.lr}

                def zero_grad(self, grads):
                    for g in grads:
                        g.fill(0)

                def step(self, grads):
                    grads = list(grads)
                    for i in range(len(self.params)):
                        self.params[i] -= self.lr * grads[i]
        """,
    },
    # AdamW's decay factor computed once in __init__ and applied by np.multiply(out=p), state
    # made lazily in a dict of (m, v) tuples. (Written first with m[:] = ..., it lost the
    # any-shape test's point: a 0-d array cannot be sliced.)
    "adamw_precomputed_decay": {
        "AdamW": """
            class AdamW:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             weight_decay=1e-2):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.decay = 1.0 - lr * weight_decay
                    self.t = 0
                    self.state = {}

                def step(self, grads):
                    self.t += 1
                    c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
                    for i, (p, g) in enumerate(zip(self.params, grads)):
                        m, v = self.state.setdefault(i, (np.zeros_like(p), np.zeros_like(p)))
                        np.multiply(p, self.decay, out=p)
                        m[...] = self.beta1 * m + (1 - self.beta1) * g
                        v[...] = self.beta2 * v + (1 - self.beta2) * g * g
                        p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
        """,
    },
    # Bias corrections from running products of the betas (not powers), betas in a list in a
    # dict of hyperparameters, state made on the first step in a dict keyed by id(p), in-place
    # ufuncs with out=, ** 0.5 for the square root.
    "adam_running_products_id_dict": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.hp = dict(lr=lr, betas=[beta1, beta2], eps=eps)
                    self.bias_correction = bias_correction
                    self.state = {}
                    self.b1_pow = 1.0
                    self.b2_pow = 1.0

                def step(self, grads):
                    b1, b2 = self.hp["betas"]
                    self.b1_pow *= b1
                    self.b2_pow *= b2
                    for p, g in zip(self.params, grads):
                        st = self.state.get(id(p))
                        if st is None:
                            st = self.state[id(p)] = {"m": np.zeros_like(p), "v": np.zeros_like(p)}
                        np.multiply(st["m"], b1, out=st["m"])
                        st["m"] += (1 - b1) * g
                        np.multiply(st["v"], b2, out=st["v"])
                        st["v"] += (1 - b2) * np.square(g)
                        if self.bias_correction:
                            m_hat = st["m"] / (1 - self.b1_pow)
                            v_hat = st["v"] / (1 - self.b2_pow)
                        else:
                            m_hat, v_hat = st["m"], st["v"]
                        p -= self.hp["lr"] * m_hat / (v_hat ** 0.5 + self.hp["eps"])
        """,
    },
    # Every operation a ufunc with out= into a scratch array per parameter (0-d ones too).
    "rmsprop_out_ufuncs_scratch": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    self.sq_avg = [np.zeros_like(p) for p in params]
                    self.scratch = [np.empty_like(p) for p in params]

                def step(self, grads):
                    for i, g in enumerate(grads):
                        p, v, tmp = self.params[i], self.sq_avg[i], self.scratch[i]
                        np.multiply(g, g, out=tmp)
                        np.multiply(v, self.alpha, out=v)
                        np.add(v, (1 - self.alpha) * tmp, out=v)
                        np.sqrt(v, out=tmp)
                        np.add(tmp, self.eps, out=tmp)
                        np.divide(g, tmp, out=tmp)
                        np.multiply(tmp, self.lr, out=tmp)
                        np.subtract(p, tmp, out=p)
        """,
    },
    # Every hyperparameter cast to the parameter's own dtype: float32 arithmetic for float32
    # parameters, float64 for float64 ones (what the notebook allows).
    "adam_hyperparameters_in_the_params_dtype": {
        "Adam.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                    f = p.dtype.type
                    b1, b2, lr, eps = f(self.beta1), f(self.beta2), f(self.lr), f(self.eps)
                    m *= b1
                    m += (f(1) - b1) * g
                    v *= b2
                    v += (f(1) - b2) * g * g
                    if self.bias_correction:
                        m_hat = m / (f(1) - b1 ** self.t)
                        v_hat = v / (f(1) - b2 ** self.t)
                    else:
                        m_hat, v_hat = m, v
                    p -= lr * m_hat / (np.sqrt(v_hat) + eps)
        """,
    },
    # Hyperparameters set through vars(self).update, buffers by id(p) made on first use,
    # the look-ahead step as two subtractions.
    "nesterov_vars_update_id_buffers": {
        "Nesterov": """
            class Nesterov:
                def __init__(self, params, lr, momentum=0.9):
                    self.params = params
                    vars(self).update(lr=lr, momentum=momentum, buffers={})

                def step(self, grads):
                    for p, g in zip(self.params, grads):
                        buf = self.buffers.get(id(p))
                        if buf is None:
                            buf = self.buffers[id(p)] = np.zeros_like(p)
                        buf *= self.momentum
                        buf += g
                        p -= self.lr * g
                        p -= self.lr * self.momentum * buf
        """,
    },
    # Patterns copied from popular sources (micrograd, CS231n, d2l.ai, torch source, ChatGPT).
    # torch.optim.Adam's source with numpy out= for mul_/add_/addcmul_, state dicts per
    # parameter, a per-parameter state['step'] (ints), and an ignored amsgrad flag.
    "adam_torch_source_state_dicts": {
        "Adam": """
            import math


            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True, amsgrad=False):
                    self.params = params
                    self.defaults = dict(lr=lr, betas=(beta1, beta2), eps=eps, amsgrad=amsgrad,
                                         bias_correction=bias_correction)
                    self.state = {}

                def step(self, grads):
                    beta1, beta2 = self.defaults["betas"]
                    lr, eps = self.defaults["lr"], self.defaults["eps"]
                    for i, (param, grad) in enumerate(zip(self.params, grads)):
                        state = self.state.setdefault(i, {})
                        if len(state) == 0:
                            state["step"] = 0
                            state["exp_avg"] = np.zeros_like(param)
                            state["exp_avg_sq"] = np.zeros_like(param)
                        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                        state["step"] += 1
                        step = state["step"]
                        # exp_avg.lerp_(grad, 1 - beta1)
                        np.add(exp_avg, (1 - beta1) * (grad - exp_avg), out=exp_avg)
                        # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                        np.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
                        np.add(exp_avg_sq, (1 - beta2) * grad * grad, out=exp_avg_sq)
                        if self.defaults["bias_correction"]:
                            bias_correction1 = 1 - beta1 ** step
                            bias_correction2 = 1 - beta2 ** step
                        else:
                            bias_correction1 = bias_correction2 = 1
                        step_size = lr / bias_correction1
                        bias_correction2_sqrt = math.sqrt(bias_correction2)
                        denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt
                        denom += eps
                        # param.addcdiv_(exp_avg, denom, value=-step_size)
                        param -= step_size * (exp_avg / denom)
        """,
    },
    # torch.optim.RMSprop / Adagrad source: state dicts, addcmul_/addcdiv_ as numpy out=.
    "rmsprop_adagrad_torch_source": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
                    self.params = params
                    self.param_groups = [dict(params=params, lr=lr, alpha=alpha, eps=eps)]
                    self.state = [{} for _ in params]

                def step(self, grads):
                    group = self.param_groups[0]
                    for p, grad, state in zip(group["params"], grads, self.state):
                        if not state:
                            state["step"] = 0
                            state["square_avg"] = np.zeros_like(p)
                        square_avg = state["square_avg"]
                        state["step"] += 1
                        square_avg *= group["alpha"]
                        square_avg += (1 - group["alpha"]) * np.square(grad)
                        avg = np.sqrt(square_avg)
                        avg += group["eps"]
                        p -= group["lr"] * np.divide(grad, avg)
        """,
        "Adagrad": """
            class Adagrad:
                def __init__(self, params, lr=1e-2, eps=1e-10, lr_decay=0, initial_accumulator_value=0):
                    self.params = params
                    self.lr, self.eps, self.lr_decay = lr, eps, lr_decay
                    self.state = [{"step": 0, "sum": np.full_like(p, initial_accumulator_value)} for p in params]

                def step(self, grads):
                    for param, grad, state in zip(self.params, grads, self.state):
                        state["step"] += 1
                        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
                        state["sum"] += grad * grad
                        std = np.sqrt(state["sum"])
                        std += self.eps
                        param -= clr * grad / std
        """,
    },
    # torch.optim.SGD(nesterov=True) source: momentum_buffer None until the first step, then
    # buf = clone(grad); torch's own functional form.
    "nesterov_torch_momentum_buffer": {
        "Nesterov": """
            class Nesterov:
                def __init__(self, params, lr, momentum=0.9, dampening=0, weight_decay=0):
                    self.params = params
                    self.lr, self.momentum, self.dampening = lr, momentum, dampening
                    self.momentum_buffer_list = [None] * len(params)

                def step(self, grads):
                    for i, (param, grad) in enumerate(zip(self.params, grads)):
                        buf = self.momentum_buffer_list[i]
                        if buf is None:
                            buf = np.copy(grad)
                            self.momentum_buffer_list[i] = buf
                        else:
                            buf *= self.momentum
                            buf += (1 - self.dampening) * grad
                        d_p = grad + self.momentum * buf
                        param -= self.lr * d_p
        """,
    },
    # torch.optim.AdamW source: param.mul_(1 - lr * weight_decay), then Adam; per-param step,
    # exp_avg_sq.sqrt() / bias_correction2_sqrt.
    "adamw_torch_source": {
        "AdamW": """
            import math


            class AdamW:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False):
                    self.params = params
                    self.lr, self.betas, self.eps, self.weight_decay = lr, (beta1, beta2), eps, weight_decay
                    self.state = [dict(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p)) for p in params]

                def step(self, grads):
                    beta1, beta2 = self.betas
                    for param, grad, state in zip(self.params, grads, self.state):
                        np.multiply(param, 1 - self.lr * self.weight_decay, out=param)
                        state["step"] += 1
                        step = state["step"]
                        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                        exp_avg *= beta1
                        exp_avg += (1 - beta1) * grad
                        exp_avg_sq *= beta2
                        exp_avg_sq += (1 - beta2) * grad * grad
                        bias_correction1 = 1 - beta1 ** step
                        bias_correction2 = 1 - beta2 ** step
                        step_size = self.lr / bias_correction1
                        denom = np.sqrt(exp_avg_sq) / math.sqrt(bias_correction2) + self.eps
                        param -= step_size * exp_avg / denom
        """,
    },
    # More from the same sources (Keras, torch.optim algorithm boxes, Python idioms).
    # The step number computed into a local t = self.t + 1 and stored after the loop; AdamW's
    # counter starts at 1 (the number of the next step) and advances after the update.
    "adam_local_step_number_adamw_counter_from_one": {
        "Adam.step": """
            def step(self, grads):
                t = self.t + 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v):
                    m *= self.beta1
                    m += (1 - self.beta1) * g
                    v *= self.beta2
                    v += (1 - self.beta2) * g * g
                    if self.bias_correction:
                        m_hat = m / (1 - self.beta1**t)
                        v_hat = v / (1 - self.beta2**t)
                    else:
                        m_hat, v_hat = m, v
                    p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
                self.t = t
        """,
        "AdamW": """
            class AdamW:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             weight_decay=1e-2):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.weight_decay = weight_decay
                    self.t = 1  # the number of the next step
                    self.m = [np.zeros_like(p) for p in params]
                    self.v = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    for p, g, m, v in zip(self.params, grads, self.m, self.v):
                        p *= 1 - self.lr * self.weight_decay
                        m *= self.beta1
                        m += (1 - self.beta1) * g
                        v *= self.beta2
                        v += (1 - self.beta2) * g * g
                        m_hat = m / (1 - self.beta1**self.t)
                        v_hat = v / (1 - self.beta2**self.t)
                        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
                    self.t += 1
        """,
    },
    # Keras' SGD(nesterov=True): velocity = mu velocity - lr g; theta += mu velocity - lr g
    # (torch's steps, with the velocity stored as -lr v, while lr is constant).
    "nesterov_keras_form": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, velocity in zip(self.params, grads, self.v):
                    velocity *= self.momentum
                    velocity -= self.lr * g
                    p += self.momentum * velocity - self.lr * g
        """,
    },
    # Velocities start as the number 0.0 ([0.0] * n, broadcast on the first step) and the list's
    # items are replaced at every step.
    "momentum_scalar_zero_state": {
        "Momentum": """
            class Momentum:
                def __init__(self, params, lr, beta=0.9):
                    self.params = params
                    self.lr, self.beta = lr, beta
                    self.u = [0.0] * len(params)

                def step(self, grads):
                    for i, g in enumerate(grads):
                        self.u[i] = self.beta * self.u[i] + (1 - self.beta) * g
                        self.params[i] -= self.lr * self.u[i]
        """,
    },
    # Bias corrections from a module-level function memoised with functools.lru_cache.
    "adam_lru_cached_corrections": {
        "Adam": """
            from functools import lru_cache


            @lru_cache(maxsize=None)
            def correction(beta, t):
                return 1.0 - beta**t


            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction = bias_correction
                    self.t = 0
                    self.m = [np.zeros_like(p) for p in params]
                    self.v = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    self.t += 1
                    c1 = correction(self.beta1, self.t) if self.bias_correction else 1.0
                    c2 = correction(self.beta2, self.t) if self.bias_correction else 1.0
                    for p, g, m, v in zip(self.params, grads, self.m, self.v):
                        m *= self.beta1
                        m += (1 - self.beta1) * g
                        v *= self.beta2
                        v += (1 - self.beta2) * g * g
                        p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
        """,
    },
    # torch.optim.RMSprop's whole algorithm box (weight_decay, momentum, centered, maximize), all
    # off by default, after the notebook's own parameters.
    "rmsprop_torch_doc_box_extras_off": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0,
                             momentum=0, centered=False, maximize=False):
                    self.params = params
                    self.lr, self.alpha, self.eps = lr, alpha, eps
                    self.weight_decay, self.momentum = weight_decay, momentum
                    self.centered, self.maximize = centered, maximize
                    self.v = [np.zeros_like(p) for p in params]
                    self.g_ave = [np.zeros_like(p) for p in params]
                    self.b = [np.zeros_like(p) for p in params]

                def step(self, grads):
                    for p, g, v, g_ave, b in zip(self.params, grads, self.v, self.g_ave, self.b):
                        if self.maximize:
                            g = -g
                        if self.weight_decay != 0:
                            g = g + self.weight_decay * p
                        v *= self.alpha
                        v += (1 - self.alpha) * g * g
                        v_tilde = v
                        if self.centered:
                            g_ave *= self.alpha
                            g_ave += (1 - self.alpha) * g
                            v_tilde = v - g_ave * g_ave
                        if self.momentum > 0:
                            b *= self.momentum
                            b += g / (np.sqrt(v_tilde) + self.eps)
                            p -= self.lr * b
                        else:
                            p -= self.lr * g / (np.sqrt(v_tilde) + self.eps)
        """,
    },
    # copy.copy(params): a new list holding the caller's very arrays, which step updates in place.
    "sgd_shallow_copy_of_the_list": {
        "SGD.__init__": """
            def __init__(self, params, lr):
                import copy

                self.params = copy.copy(params)
                self.lr = lr
        """,
    },
    # All arrays at once: gradients concatenated into one flat vector, state as two flat vectors,
    # each array written back from its slice with p[...] = ... (0-d arrays too).
    "adam_flat_concatenated": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction = bias_correction
                    self.t = 0
                    self.sizes = [p.size for p in params]
                    n = sum(self.sizes)
                    dtype = np.result_type(*params)
                    self.m = np.zeros(n, dtype=dtype)
                    self.v = np.zeros(n, dtype=dtype)

                def step(self, grads):
                    self.t += 1
                    g = np.concatenate([np.ravel(gi) for gi in grads])
                    self.m = self.beta1 * self.m + (1 - self.beta1) * g
                    self.v = self.beta2 * self.v + (1 - self.beta2) * g**2
                    m_hat, v_hat = self.m, self.v
                    if self.bias_correction:
                        m_hat = self.m / (1 - self.beta1**self.t)
                        v_hat = self.v / (1 - self.beta2**self.t)
                    update = self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
                    start = 0
                    for p, size in zip(self.params, self.sizes):
                        p[...] = p - update[start:start + size].reshape(p.shape)
                        start += size
        """,
    },
    # __slots__ for the attributes (no instance __dict__), and the optimizer a container of its
    # parameters: len(opt), iter(opt), opt[i].
    "sgd_slots_and_container_protocol": {
        "SGD": """
            class SGD:
                __slots__ = ("params", "lr")

                def __init__(self, params, lr):
                    self.params = params
                    self.lr = lr

                def __len__(self):
                    return len(self.params)

                def __iter__(self):
                    return iter(self.params)

                def __getitem__(self, i):
                    return self.params[i]

                def step(self, grads):
                    for p, g in zip(self, grads):
                        p -= self.lr * g
        """,
        "Adam": """
            class Adam:
                __slots__ = ("params", "lr", "beta1", "beta2", "eps", "bias_correction", "t", "m", "v")

                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction = bias_correction
                    self.t = 0
                    self.m = [np.zeros_like(p) for p in params]
                    self.v = [np.zeros_like(p) for p in params]

                def __len__(self):
                    return len(self.params)

                def __bool__(self):
                    return self.t > 0

                def step(self, grads):
                    self.t += 1
                    for i in range(len(self)):
                        p, g, m, v = self.params[i], grads[i], self.m[i], self.v[i]
                        m *= self.beta1
                        m += (1 - self.beta1) * g
                        v *= self.beta2
                        v += (1 - self.beta2) * g * g
                        if self.bias_correction:
                            m_hat = m / (1 - self.beta1**self.t)
                            v_hat = v / (1 - self.beta2**self.t)
                        else:
                            m_hat, v_hat = m, v
                        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        """,
    },
    # More: equivalent rewritings of the updates, state made lazily, one flat buffer.
    # Adagrad keeps sqrt(s) itself: sqrt(s + g^2) = hypot(sqrt(s), g), updated in place.
    "adagrad_root_kept_by_hypot": {
        "Adagrad": """
            class Adagrad:
                def __init__(self, params, lr=1e-2, eps=1e-10):
                    self.params = params
                    self.lr, self.eps = lr, eps
                    self.root = [np.zeros_like(p) for p in params]  # sqrt(sum of g^2)

                def step(self, grads):
                    for p, g, r in zip(self.params, grads, self.root):
                        np.hypot(r, g, out=r)
                        p -= self.lr * g / (r + self.eps)
        """,
    },
    # The decay inside the update, lr * (step + lambda * theta): the same theta before the step.
    "adamw_decay_inside_the_update": {
        "AdamW.step": """
            def step(self, grads):
                self.t += 1
                for p, g, m, v in zip(self.params, grads, self.m, self.v):
                    m[...] = self.beta1 * m + (1 - self.beta1) * g
                    v[...] = self.beta2 * v + (1 - self.beta2) * g**2
                    m_hat = m / (1 - self.beta1**self.t)
                    v_hat = v / (1 - self.beta2**self.t)
                    p -= self.lr * (m_hat / (np.sqrt(v_hat) + self.eps) + self.weight_decay * p)
        """,
    },
    # State made at the first step (m1 = (1 - beta1) g1 as 0-d-safe arrays); the corrections
    # applied to sqrt(v) as sqrt(c2).
    "adam_state_made_at_the_first_step": {
        "Adam": """
            class Adam:
                def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                             bias_correction=True):
                    self.params = params
                    self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
                    self.bias_correction = bias_correction
                    self.t = 0
                    self.m = self.v = None

                def step(self, grads):
                    self.t += 1
                    if self.m is None:
                        self.m = [np.array((1 - self.beta1) * g) for g in grads]
                        self.v = [np.array((1 - self.beta2) * g * g) for g in grads]
                    else:
                        for g, m, v in zip(grads, self.m, self.v):
                            m[...] = self.beta1 * m + (1 - self.beta1) * g
                            v[...] = self.beta2 * v + (1 - self.beta2) * np.square(g)
                    c1 = 1 - self.beta1**self.t if self.bias_correction else 1.0
                    c2 = 1 - self.beta2**self.t if self.bias_correction else 1.0
                    for p, m, v in zip(self.params, self.m, self.v):
                        p -= self.lr * (m / c1) / (np.sqrt(v) / np.sqrt(c2) + self.eps)
        """,
    },
    # RMSprop's average moved towards g^2 by (1 - alpha) of the gap.
    "rmsprop_ema_increment": {
        "RMSprop.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v):
                    v += (1 - self.alpha) * (np.square(g) - v)
                    p -= self.lr * g / (np.sqrt(v) + self.eps)
        """,
    },
    # Nesterov's step from the old velocity, g + mu (mu v + g) expanded, v updated after.
    "nesterov_step_expanded_before_the_velocity": {
        "Nesterov.step": """
            def step(self, grads):
                mu = self.momentum
                for p, g, v in zip(self.params, grads, self.v):
                    p -= self.lr * ((1 + mu) * g + mu * mu * v)
                    v *= mu
                    v += g
        """,
    },
    # Every velocity a view into one flat buffer.
    "momentum_state_in_one_flat_buffer": {
        "Momentum.__init__": """
            def __init__(self, params, lr, beta=0.9):
                self.params = params
                self.lr, self.beta = lr, beta
                sizes = [p.size for p in params]
                flat = np.zeros(sum(sizes), dtype=np.result_type(*params))
                cuts = np.cumsum([0, *sizes])
                self.u = [flat[a:b].reshape(p.shape) for a, b, p in zip(cuts, cuts[1:], params)]
        """,
    },
    # An unseen class's (helper-written from the stub alone).
    # The learning rate folded into Nesterov's velocity (the same steps while lr is constant).
    "nesterov_lr_inside_the_velocity": {
        "Nesterov.step": """
            def step(self, grads):
                for p, g, v in zip(self.params, grads, self.v, strict=True):
                    v *= self.momentum
                    v += self.lr * g
                    p -= self.lr * g + self.momentum * v
        """,
    },
    # Momentum's average of lr * g kept as the step itself: s = lr * u.
    "momentum_average_of_lr_times_g": {
        "Momentum.step": """
            def step(self, grads):
                for p, g, s in zip(self.params, grads, self.u, strict=True):
                    s *= self.beta
                    s += (1 - self.beta) * self.lr * g
                    p -= s
        """,
    },
    # RMSprop with a helper method per array, np.square, np.zeros(shape, dtype) state.
    "rmsprop_helper_method": {
        "RMSprop": """
            class RMSprop:
                def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
                    self.params = params
                    self.lr = lr
                    self.alpha = alpha
                    self.eps = eps
                    self.sq_avg = [np.zeros(p.shape, dtype=p.dtype) for p in params]

                def _update(self, p, g, v):
                    v[...] = self.alpha * v + (1.0 - self.alpha) * np.square(g)
                    p[...] = p - self.lr * g / (np.sqrt(v) + self.eps)

                def step(self, grads):
                    for p, g, v in zip(self.params, grads, self.sq_avg):
                        self._update(p, g, v)
        """,
    },
}
