/* A harness for operator unit tests: builds a node with attributes, runs it through the op table
 * the executor uses (prepare, shape, run) on hand-made tensors, and compares floats. Include it
 * after <cmocka.h>. */
#ifndef INFERD_ONNX_OP_HARNESS_H
#define INFERD_ONNX_OP_HARNESS_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/onnx/graph.h"

#define MAX_ATTRS 8

/* A node under test: attributes to hand to prepare(), the opset it runs at (default 13). */
typedef struct {
    const char *op_type;
    int opset;
    Onnx__AttributeProto attrs[MAX_ATTRS];
    Onnx__AttributeProto *attr_ptrs[MAX_ATTRS];
    int64_t ints[MAX_ATTRS][8];
    size_t n_attrs;
} op_case_t;

static inline Onnx__AttributeProto *next_attr(op_case_t *c, const char *name)
{
    Onnx__AttributeProto *a = &c->attrs[c->n_attrs];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    c->attr_ptrs[c->n_attrs++] = a;
    return a;
}

static inline void add_int_attr(op_case_t *c, const char *name, int64_t value)
{
    Onnx__AttributeProto *a = next_attr(c, name);
    a->has_i = 1;
    a->i = value;
}

static inline void add_float_attr(op_case_t *c, const char *name, float value)
{
    Onnx__AttributeProto *a = next_attr(c, name);
    a->has_f = 1;
    a->f = value;
}

/* A list attribute of `n` (at most 8) integers. */
static inline void add_ints_attr(op_case_t *c, const char *name, const int64_t *values, size_t n)
{
    size_t slot = c->n_attrs;
    Onnx__AttributeProto *a = next_attr(c, name);
    memcpy(c->ints[slot], values, n * sizeof(int64_t));
    a->ints = c->ints[slot];
    a->n_ints = n;
}

/* A string attribute; `value` must outlive the case. */
static inline void add_string_attr(op_case_t *c, const char *name, const char *value)
{
    Onnx__AttributeProto *a = next_attr(c, name);
    a->has_s = 1;
    a->s.data = (uint8_t *)value;
    a->s.len = strlen(value);
}

static inline inferd_tensor_t tensor(inferd_dtype_t dtype, void *data, int ndim, ...)
{
    inferd_tensor_t t = {.dtype = dtype, .ndim = ndim, .data = data};
    va_list ap;
    va_start(ap, ndim);
    for (int d = 0; d < ndim; d++)
        t.shape[d] = va_arg(ap, int64_t);
    va_end(ap);
    return t;
}

/* Runs the op on `inputs` (an input with data NULL and dtype INVALID is an omitted optional
 * input); fills the `n_outputs` tensors of `outs` (data malloc'ed, caller frees each).
 * Returns the rc of the first step that failed, with the message in err. */
static inline int run_op_n(op_case_t *c, inferd_tensor_t *inputs, int n_inputs,
                           inferd_tensor_t *outs, int n_outputs, inferd_err_t *err)
{
    const onnx_op_t *op = onnx_op_find(c->op_type);
    assert_non_null(op);
    Onnx__NodeProto proto;
    onnx__node_proto__init(&proto);
    proto.n_attribute = c->n_attrs;
    proto.attribute = c->attr_ptrs;
    int indices[ONNX_MAX_NODE_INPUTS];
    for (int i = 0; i < ONNX_MAX_NODE_INPUTS; i++)
        indices[i] = i;
    onnx_node_t node = {.name = "n",
                        .op = op,
                        .opset = c->opset ? c->opset : 13,
                        .inputs = indices,
                        .n_inputs = n_inputs,
                        .outputs = indices,
                        .n_outputs = n_outputs};
    const inferd_tensor_t *in[ONNX_MAX_NODE_INPUTS];
    for (int i = 0; i < n_inputs; i++)
        in[i] = inputs[i].dtype == INFERD_DT_INVALID ? NULL : &inputs[i];
    memset(outs, 0, sizeof(*outs) * (size_t)n_outputs);
    int rc = op->prepare ? op->prepare(&node, &proto, err) : 0;
    if (rc == 0)
        rc = op->shape(&node, in, outs, err);
    if (rc == 0) {
        for (int o = 0; o < n_outputs; o++)
            outs[o].data = calloc(1, (size_t)inferd_tensor_bytes(&outs[o]) + 1);
        onnx_scratch_t scratch = {0};
        rc = op->run(&node, in, outs, &scratch, err);
        free(scratch.data);
    }
    free(node.params);
    return rc;
}

/* As run_op_n with one output. */
static inline int run_op(op_case_t *c, inferd_tensor_t *inputs, int n_inputs, inferd_tensor_t *out,
                         inferd_err_t *err)
{
    return run_op_n(c, inputs, n_inputs, out, 1, err);
}

static inline void assert_floats(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabsf(got[i] - want[i]) > 1e-5f * (1.0f + fabsf(want[i])))
            fail_msg("element %zu: got %.9g, want %.9g", i, got[i], want[i]);
}

static inline void assert_shape(const inferd_tensor_t *t, int ndim, const int64_t *shape)
{
    assert_int_equal(t->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        assert_int_equal(t->shape[d], shape[d]);
}

#endif
