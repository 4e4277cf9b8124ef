/* Reading model.onnx: protobuf-c parses the file (C code generated at build time from Debian's
 * onnx.proto); this file turns the GraphProto into an onnx_graph_t: values indexed once,
 * initializers and Constant nodes as constant tensors, nodes sorted for execution, every op
 * checked against the operator table so that a model we cannot run fails at load, never later. */
#include "graph.h"
#include "ops/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MAX_BYTES ((size_t)4 << 30)

/* ==== values ==== */

typedef struct {
    onnx_graph_t *graph;
    int capacity;
} value_table_t;

/* Index of value `name`, or -1. Linear search: graphs are parsed once, at load. */
static int value_find(const onnx_graph_t *g, const char *name)
{
    for (int i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    return -1;
}

static int value_intern(value_table_t *table, const char *name)
{
    onnx_graph_t *g = table->graph;
    int found = value_find(g, name);
    if (found >= 0)
        return found;
    if (g->n_values == table->capacity) {
        int capacity = table->capacity ? table->capacity * 2 : 64;
        onnx_value_t *grown = realloc(g->values, (size_t)capacity * sizeof(*grown));
        if (grown == NULL)
            return INFERD_ENOMEM;
        g->values = grown;
        table->capacity = capacity;
    }
    onnx_value_t *v = &g->values[g->n_values];
    memset(v, 0, sizeof(*v));
    v->graph_input = v->graph_output = v->last_reader = -1;
    if ((v->name = strdup(name)) == NULL)
        return INFERD_ENOMEM;
    return g->n_values++;
}

/* ==== tensors ==== */

int onnx_tensor_from_proto(const Onnx__TensorProto *proto, inferd_tensor_t *OUT, inferd_err_t *err)
{
    memset(OUT, 0, sizeof(*OUT));
    const char *name = proto->name ? proto->name : "";
    if (proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return inferd_fail(err, INFERD_EMODEL,
                           "tensor '%s' keeps its data in an external file, which inferd does not "
                           "read yet; save the model with its weights inside the .onnx file",
                           name);
    inferd_dtype_t dtype = inferd_dtype_from_onnx(proto->data_type);
    if (dtype == INFERD_DT_INVALID || dtype == INFERD_DT_BYTES)
        return inferd_fail(err, INFERD_EMODEL, "tensor '%s' has ONNX data type %d, unsupported",
                           name, proto->data_type);
    if (proto->n_dims > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EMODEL, "tensor '%s' has rank %zu; inferd supports up to %d",
                           name, proto->n_dims, INFERD_MAX_DIMS);
    OUT->dtype = dtype;
    OUT->ndim = (int)proto->n_dims;
    for (size_t i = 0; i < proto->n_dims; i++)
        OUT->shape[i] = proto->dims[i];
    int64_t count = inferd_tensor_count(OUT);
    if (count < 0)
        return inferd_fail(err, INFERD_EMODEL, "tensor '%s' has an invalid shape", name);
    size_t elem = inferd_dtype_size(dtype), bytes = (size_t)count * elem;

    /* How many elements the file really holds, checked before allocating anything: the
     * dimensions are only a claim. */
    size_t have;
    if (proto->has_raw_data)
        have = proto->raw_data.len % elem == 0 ? proto->raw_data.len / elem : SIZE_MAX;
    else if (dtype == INFERD_DT_FP32)
        have = proto->n_float_data;
    else if (dtype == INFERD_DT_FP64)
        have = proto->n_double_data;
    else if (dtype == INFERD_DT_INT64)
        have = proto->n_int64_data;
    else if (dtype == INFERD_DT_UINT32 || dtype == INFERD_DT_UINT64)
        have = proto->n_uint64_data;
    else /* INT32 and the narrower types travel in int32_data, one element per entry */
        have = proto->n_int32_data;
    if (have != (size_t)count)
        return inferd_fail(err, INFERD_EMODEL,
                           "tensor '%s' should hold %lld elements but its data has %zu; the file "
                           "is corrupt",
                           name, (long long)count, have == SIZE_MAX ? (size_t)0 : have);

    OUT->data = onnx_weights_alloc(bytes ? bytes : 1); /* huge pages for large weights */
    if (OUT->data == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory for tensor '%s'", name);
    if (bytes == 0) {
        /* an empty tensor: nothing to copy (and its source may be NULL) */
    } else if (proto->has_raw_data) {
        memcpy(OUT->data, proto->raw_data.data, bytes); /* little-endian, as on x86-64 */
    } else if (dtype == INFERD_DT_FP32) {
        memcpy(OUT->data, proto->float_data, bytes);
    } else if (dtype == INFERD_DT_FP64) {
        memcpy(OUT->data, proto->double_data, bytes);
    } else if (dtype == INFERD_DT_INT64) {
        memcpy(OUT->data, proto->int64_data, bytes);
    } else if (dtype == INFERD_DT_UINT32 || dtype == INFERD_DT_UINT64) {
        for (size_t i = 0; i < have; i++) {
            if (dtype == INFERD_DT_UINT32)
                ((uint32_t *)OUT->data)[i] = (uint32_t)proto->uint64_data[i];
            else
                ((uint64_t *)OUT->data)[i] = proto->uint64_data[i];
        }
    } else {
        for (size_t i = 0; i < have; i++) {
            int32_t v = proto->int32_data[i];
            if (elem == 1)
                ((uint8_t *)OUT->data)[i] = (uint8_t)v;
            else if (elem == 2)
                ((uint16_t *)OUT->data)[i] = (uint16_t)v;
            else
                ((int32_t *)OUT->data)[i] = v;
        }
    }
    return 0;
}

/* ==== attributes ==== */

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *proto, const char *name)
{
    for (size_t i = 0; i < proto->n_attribute; i++)
        if (proto->attribute[i]->name != NULL && strcmp(proto->attribute[i]->name, name) == 0)
            return proto->attribute[i];
    return NULL;
}

int64_t onnx_attr_int(const Onnx__NodeProto *proto, const char *name, int64_t fallback)
{
    const Onnx__AttributeProto *a = onnx_attr(proto, name);
    return a != NULL && a->has_i ? a->i : fallback;
}

float onnx_attr_float(const Onnx__NodeProto *proto, const char *name, float fallback)
{
    const Onnx__AttributeProto *a = onnx_attr(proto, name);
    return a != NULL && a->has_f ? a->f : fallback;
}

int onnx_attr_ints(const Onnx__NodeProto *proto, const char *name, int64_t *values, int max)
{
    const Onnx__AttributeProto *a = onnx_attr(proto, name);
    if (a == NULL)
        return -1;
    for (size_t i = 0; i < a->n_ints && (int)i < max; i++)
        values[i] = a->ints[i];
    return (int)a->n_ints;
}

const char *onnx_attr_string(const Onnx__NodeProto *proto, const char *name, const char *fallback)
{
    static __thread char text[256];
    const Onnx__AttributeProto *a = onnx_attr(proto, name);
    if (a == NULL || !a->has_s)
        return fallback;
    size_t len = a->s.len < sizeof(text) - 1 ? a->s.len : sizeof(text) - 1;
    memcpy(text, a->s.data, len);
    text[len] = '\0';
    return text;
}

/* ==== graph ==== */

static int read_file(const char *path, uint8_t **OUT_bytes, size_t *OUT_len, inferd_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return inferd_fail(err, INFERD_EIO, "cannot open %s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return inferd_fail(err, INFERD_EIO, "cannot read %s", path);
    }
    long size = ftell(f);
    rewind(f);
    if (size <= 0 || (size_t)size > MODEL_MAX_BYTES) {
        fclose(f);
        return inferd_fail(err, INFERD_EMODEL, "%s is %s", path,
                           size <= 0 ? "empty" : "larger than 4 GiB");
    }
    uint8_t *bytes = malloc((size_t)size);
    size_t got = bytes ? fread(bytes, 1, (size_t)size, f) : 0;
    fclose(f);
    if (got != (size_t)size) {
        free(bytes);
        return inferd_fail(err, INFERD_EIO, "cannot read %s", path);
    }
    *OUT_bytes = bytes;
    *OUT_len = (size_t)size;
    return 0;
}

static bool is_default_domain(const char *domain)
{
    return domain == NULL || domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
}

/* A Constant node becomes a constant value; it never runs. */
static int fold_constant(const Onnx__NodeProto *proto, onnx_value_t *out, inferd_err_t *err)
{
    const Onnx__AttributeProto *a;
    inferd_tensor_t *t = &out->constant;
    memset(t, 0, sizeof(*t));
    if ((a = onnx_attr(proto, "value")) != NULL && a->t != NULL)
        return onnx_tensor_from_proto(a->t, t, err);
    if ((a = onnx_attr(proto, "value_float")) != NULL ||
        (a = onnx_attr(proto, "value_int")) != NULL) {
        bool is_float = a->has_f;
        t->dtype = is_float ? INFERD_DT_FP32 : INFERD_DT_INT64;
        t->ndim = 0;
        t->data = malloc(8);
        if (t->data == NULL)
            return INFERD_ENOMEM;
        if (is_float)
            *(float *)t->data = a->f;
        else
            *(int64_t *)t->data = a->i;
        return 0;
    }
    if ((a = onnx_attr(proto, "value_floats")) != NULL ||
        (a = onnx_attr(proto, "value_ints")) != NULL) {
        bool is_float = strcmp(a->name, "value_floats") == 0;
        size_t n = is_float ? a->n_floats : a->n_ints;
        t->dtype = is_float ? INFERD_DT_FP32 : INFERD_DT_INT64;
        t->ndim = 1;
        t->shape[0] = (int64_t)n;
        t->data = malloc(n * 8 + 1);
        if (t->data == NULL)
            return INFERD_ENOMEM;
        if (is_float)
            memcpy(t->data, a->floats, n * sizeof(float));
        else
            memcpy(t->data, a->ints, n * sizeof(int64_t));
        return 0;
    }
    return inferd_fail(err, INFERD_EMODEL,
                       "Constant node '%s' has no value attribute inferd supports (value, "
                       "value_float(s), value_int(s))",
                       proto->name ? proto->name : "");
}

static int add_node(onnx_graph_t *g, value_table_t *table, const Onnx__NodeProto *proto,
                    inferd_err_t *err)
{
    const char *op_type = proto->op_type ? proto->op_type : "";
    const char *node_name = proto->name && proto->name[0] ? proto->name : "(unnamed)";
    const onnx_op_t *op = is_default_domain(proto->domain) ? onnx_op_find(op_type) : NULL;
    bool is_constant = is_default_domain(proto->domain) && strcmp(op_type, "Constant") == 0;
    if (op == NULL && !is_constant) {
        if (!is_default_domain(proto->domain))
            return inferd_fail(err, INFERD_EMODEL,
                               "unsupported operator '%s' (domain '%s') in node '%s'", op_type,
                               proto->domain, node_name);
        return inferd_fail(err, INFERD_EMODEL, "unsupported operator '%s' in node '%s'", op_type,
                           node_name);
    }
    if (is_constant) {
        if (proto->n_output != 1)
            return inferd_fail(err, INFERD_EMODEL, "Constant node '%s' must have one output",
                               node_name);
        int out = value_intern(table, proto->output[0]);
        if (out < 0)
            return out;
        if (g->values[out].is_constant || g->values[out].has_producer)
            return inferd_fail(err, INFERD_EMODEL, "value '%s' is defined more than once",
                               g->values[out].name);
        g->values[out].is_constant = true;
        return fold_constant(proto, &g->values[out], err);
    }
    if (proto->n_input > ONNX_MAX_NODE_INPUTS || proto->n_output > ONNX_MAX_NODE_OUTPUTS)
        return inferd_fail(err, INFERD_EMODEL, "node '%s' (%s) has more than %d inputs or outputs",
                           node_name, op_type, ONNX_MAX_NODE_INPUTS);
    if ((int)proto->n_input < op->min_inputs || (int)proto->n_input > op->max_inputs ||
        (int)proto->n_output < op->min_outputs || (int)proto->n_output > op->max_outputs)
        return inferd_fail(err, INFERD_EMODEL,
                           "node '%s' (%s) has %zu inputs and %zu outputs; %s takes %d-%d inputs "
                           "and %d-%d outputs",
                           node_name, op_type, proto->n_input, proto->n_output, op_type,
                           op->min_inputs, op->max_inputs, op->min_outputs, op->max_outputs);
    onnx_node_t *node = &g->nodes[g->n_nodes++];
    memset(node, 0, sizeof(*node));
    node->op = op;
    node->opset = g->opset;
    node->proto = proto;
    node->name = strdup(node_name);
    node->inputs = calloc(proto->n_input + 1, sizeof(int));
    node->outputs = calloc(proto->n_output + 1, sizeof(int));
    if (node->name == NULL || node->inputs == NULL || node->outputs == NULL)
        return INFERD_ENOMEM;
    node->n_inputs = (int)proto->n_input;
    node->n_outputs = (int)proto->n_output;
    for (size_t i = 0; i < proto->n_input; i++) {
        if (proto->input[i][0] == '\0' && (int)i < op->min_inputs)
            return inferd_fail(err, INFERD_EMODEL,
                               "node '%s' (%s) leaves its required input %zu empty", node_name,
                               op_type, i);
        node->inputs[i] = proto->input[i][0] ? value_intern(table, proto->input[i]) : -1;
        if (proto->input[i][0] && node->inputs[i] < 0)
            return INFERD_ENOMEM;
    }
    for (size_t i = 0; i < proto->n_output; i++) {
        node->outputs[i] = proto->output[i][0] ? value_intern(table, proto->output[i]) : -1;
        if (proto->output[i][0] && node->outputs[i] < 0)
            return INFERD_ENOMEM;
        onnx_value_t *v = node->outputs[i] >= 0 ? &g->values[node->outputs[i]] : NULL;
        if (v != NULL && (v->is_constant || v->has_producer || v->graph_input >= 0))
            return inferd_fail(err, INFERD_EMODEL,
                               "node '%s' writes '%s', which is already an input, initializer or "
                               "another node's output",
                               node_name, v->name);
        if (v != NULL)
            v->has_producer = true;
    }
    if (op->prepare != NULL) {
        int rc = op->prepare(node, proto, err);
        if (rc != 0) {
            inferd_err_prefix(err, "node '%s' (%s): ", node_name, op_type);
            return rc;
        }
    }
    return 0;
}

/* Orders nodes so that each runs after the producers of its inputs (ONNX requires files to be
 * sorted already; sorting anyway costs little and catches a value nothing produces). */
static int order_nodes(onnx_graph_t *g, inferd_err_t *err)
{
    bool *is_available = calloc((size_t)g->n_values + 1, sizeof(bool));
    bool *is_done = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    onnx_node_t *sorted = calloc((size_t)g->n_nodes + 1, sizeof(*sorted));
    int rc = 0;
    if (is_available == NULL || is_done == NULL || sorted == NULL) {
        rc = INFERD_ENOMEM;
        goto out;
    }
    for (int v = 0; v < g->n_values; v++)
        is_available[v] = g->values[v].is_constant || g->values[v].graph_input >= 0;
    int n_sorted = 0;
    while (n_sorted < g->n_nodes) {
        bool progressed = false;
        for (int i = 0; i < g->n_nodes; i++) {
            if (is_done[i])
                continue;
            bool ready = true;
            for (int k = 0; k < g->nodes[i].n_inputs && ready; k++)
                ready = g->nodes[i].inputs[k] < 0 || is_available[g->nodes[i].inputs[k]];
            if (!ready)
                continue;
            for (int k = 0; k < g->nodes[i].n_outputs; k++)
                if (g->nodes[i].outputs[k] >= 0)
                    is_available[g->nodes[i].outputs[k]] = true;
            sorted[n_sorted++] = g->nodes[i];
            is_done[i] = true;
            progressed = true;
        }
        if (!progressed) {
            for (int i = 0; i < g->n_nodes; i++)
                for (int k = 0; !is_done[i] && k < g->nodes[i].n_inputs; k++) {
                    int v = g->nodes[i].inputs[k];
                    if (v >= 0 && !is_available[v]) {
                        rc = inferd_fail(err, INFERD_EMODEL,
                                         "node '%s' reads '%s', which no input, initializer or "
                                         "node provides (or the graph has a cycle)",
                                         g->nodes[i].name, g->values[v].name);
                        goto out;
                    }
                }
            rc = inferd_fail(err, INFERD_EMODEL, "the graph cannot be ordered");
            goto out;
        }
    }
    memcpy(g->nodes, sorted, (size_t)g->n_nodes * sizeof(*sorted));
    for (int o = 0; o < g->n_outputs; o++)
        if (!is_available[g->outputs[o]]) {
            rc = inferd_fail(err, INFERD_EMODEL, "graph output '%s' is produced by no node",
                             g->values[g->outputs[o]].name);
            goto out;
        }
out:
    free(is_available);
    free(is_done);
    free(sorted);
    return rc;
}

/* A graph input or output as an io spec: element type and shape, -1 for symbolic or missing
 * dimensions. */
static int read_io_spec(const Onnx__ValueInfoProto *info, inferd_io_spec_t *spec, inferd_err_t *err)
{
    const char *name = info->name ? info->name : "";
    if ((spec->name = strdup(name)) == NULL)
        return INFERD_ENOMEM;
    const Onnx__TypeProto *type = info->type;
    if (type == NULL || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        type->tensor_type == NULL)
        return inferd_fail(err, INFERD_EMODEL,
                           "graph input or output '%s' is not a tensor; inferd serves tensors only",
                           name);
    const Onnx__TypeProto__Tensor *tensor = type->tensor_type;
    spec->dtype = inferd_dtype_from_onnx(tensor->elem_type);
    if (spec->dtype == INFERD_DT_INVALID || spec->dtype == INFERD_DT_BYTES)
        return inferd_fail(err, INFERD_EMODEL,
                           "graph input or output '%s' has ONNX element type %d, which inferd "
                           "does not serve yet",
                           name, tensor->elem_type);
    if (tensor->shape == NULL) {
        spec->ndim = 0; /* unknown rank: reported as a scalar shape */
        return 0;
    }
    if (tensor->shape->n_dim > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EMODEL, "'%s' has rank %zu; inferd supports up to %d", name,
                           tensor->shape->n_dim, INFERD_MAX_DIMS);
    spec->ndim = (int)tensor->shape->n_dim;
    for (size_t d = 0; d < tensor->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tensor->shape->dim[d];
        bool is_fixed = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                        dim->dim_value >= 0;
        spec->shape[d] = is_fixed ? dim->dim_value : -1;
    }
    return 0;
}

static int read_graph(const Onnx__ModelProto *model, onnx_graph_t *g, inferd_err_t *err)
{
    const Onnx__GraphProto *graph = model->graph;
    value_table_t table = {g, 0};
    g->opset = 0;
    for (size_t i = 0; i < model->n_opset_import; i++)
        if (is_default_domain(model->opset_import[i]->domain))
            g->opset = (int)model->opset_import[i]->version;
    if (g->opset == 0)
        g->opset = 1;
    if (g->opset < 1 || g->opset > 18)
        return inferd_fail(err, INFERD_EMODEL,
                           "the model uses ONNX opset %d; inferd runs opsets 1 to 18 (re-export "
                           "with opset_version between them)",
                           g->opset);

    for (size_t i = 0; i < graph->n_initializer; i++) {
        const Onnx__TensorProto *init = graph->initializer[i];
        int v = value_intern(&table, init->name ? init->name : "");
        if (v < 0)
            return v;
        if (g->values[v].is_constant)
            return inferd_fail(err, INFERD_EMODEL, "initializer '%s' is defined more than once",
                               g->values[v].name);
        int rc = onnx_tensor_from_proto(init, &g->values[v].constant, err);
        if (rc != 0)
            return rc;
        g->values[v].is_constant = true;
    }
    g->inputs = calloc(graph->n_input + 1, sizeof(int));
    g->outputs = calloc(graph->n_output + 1, sizeof(int));
    g->nodes = calloc(graph->n_node + 1, sizeof(*g->nodes));
    g->sig.inputs = calloc(graph->n_input + 1, sizeof(inferd_io_spec_t));
    g->sig.outputs = calloc(graph->n_output + 1, sizeof(inferd_io_spec_t));
    if (g->inputs == NULL || g->outputs == NULL || g->nodes == NULL || g->sig.inputs == NULL ||
        g->sig.outputs == NULL)
        return INFERD_ENOMEM;
    for (size_t i = 0; i < graph->n_input; i++) {
        int v = value_intern(&table, graph->input[i]->name ? graph->input[i]->name : "");
        if (v < 0)
            return v;
        if (g->values[v].is_constant)
            continue; /* an initializer listed as input (IR < 4): a constant, not a request input */
        if (g->values[v].graph_input >= 0)
            return inferd_fail(err, INFERD_EMODEL, "graph input '%s' is listed twice",
                               g->values[v].name);
        int rc = read_io_spec(graph->input[i], &g->sig.inputs[g->n_inputs], err);
        g->sig.n_inputs = (size_t)g->n_inputs + 1;
        if (rc != 0)
            return rc;
        g->values[v].graph_input = g->n_inputs;
        g->inputs[g->n_inputs++] = v;
    }
    for (size_t i = 0; i < graph->n_node; i++) {
        int rc = add_node(g, &table, graph->node[i], err);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < graph->n_output; i++) {
        int v = value_intern(&table, graph->output[i]->name ? graph->output[i]->name : "");
        if (v < 0)
            return v;
        int rc = read_io_spec(graph->output[i], &g->sig.outputs[i], err);
        g->sig.n_outputs = i + 1;
        if (rc != 0)
            return rc;
        g->values[v].graph_output = g->n_outputs;
        g->outputs[g->n_outputs++] = v;
    }
    int rc = order_nodes(g, err);
    if (rc == 0)
        rc = onnx_graph_optimize(g, err);
    for (int n = 0; n < g->n_nodes; n++)
        g->nodes[n].proto = NULL; /* the protobuf is freed after loading */
    return rc;
}

int onnx_graph_parse(const uint8_t *bytes, size_t len, const char *origin, onnx_graph_t *graph,
                     inferd_err_t *err)
{
    memset(graph, 0, sizeof(*graph));
    Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, len, bytes);
    if (model == NULL)
        return inferd_fail(err, INFERD_EMODEL,
                           "%s is not a valid ONNX model (the protobuf does not parse: truncated "
                           "or not an .onnx file)",
                           origin);
    int rc;
    if (model->graph == NULL)
        rc = inferd_fail(err, INFERD_EMODEL, "%s holds no graph", origin);
    else
        rc = read_graph(model, graph, err);
    onnx__model_proto__free_unpacked(model, NULL);
    if (rc == INFERD_ENOMEM)
        inferd_fail(err, rc, "out of memory loading %s", origin);
    if (rc != 0)
        onnx_graph_free(graph);
    return rc;
}

int onnx_graph_load(const char *path, onnx_graph_t *graph, inferd_err_t *err)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    memset(graph, 0, sizeof(*graph));
    int rc = read_file(path, &bytes, &len, err);
    if (rc != 0)
        return rc;
    rc = onnx_graph_parse(bytes, len, path, graph, err);
    free(bytes);
    return rc;
}

void onnx_graph_free(onnx_graph_t *g)
{
    for (int i = 0; i < g->n_values; i++) {
        free(g->values[i].name);
        free(g->values[i].constant.data);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].shared_free != NULL)
            g->nodes[i].shared_free(g->nodes[i].shared);
        free(g->nodes[i].name);
        free(g->nodes[i].inputs);
        free(g->nodes[i].outputs);
        free(g->nodes[i].params);
        free(g->nodes[i].fused.pool);
    }
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    inferd_signature_free(&g->sig);
    memset(g, 0, sizeof(*g));
}

/* ==== shape helpers ==== */

int onnx_axis(int64_t axis, int rank, int rank_extra)
{
    if (axis < -rank || axis >= rank + rank_extra)
        return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}

void onnx_set_shape(inferd_tensor_t *out, inferd_dtype_t dtype, const int64_t *shape, int ndim)
{
    out->dtype = dtype;
    out->ndim = ndim;
    memmove(out->shape, shape, (size_t)ndim * sizeof(int64_t));
}
