/* NonMaxSuppression, as detection models export it (SSD, YOLO, Faster R-CNN heads): for each
 * batch and class, the boxes scoring above score_threshold, best first (the lower box index on
 * a tie), each kept unless it overlaps one already kept with an intersection over union above
 * iou_threshold, at most max_output_boxes_per_class of them. The output, [selected, 3] INT64
 * rows of (batch, class, box), depends on the data, so shape() runs the selection to count it
 * and run() runs it again to write it: the selection costs little next to the network before it,
 * and its candidate list is allocated per call (its size is the scores'). */
#include "ops.h"

#include <stdlib.h>

typedef struct {
    bool is_center_box; /* boxes as [x_center, y_center, width, height], else two corners */
} nms_params_t;

static int nms_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    nms_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    int64_t center_point_box = onnx_attr_int(proto, "center_point_box", 0);
    if (center_point_box != 0 && center_point_box != 1)
        return inferd_fail(err, INFERD_EMODEL, "center_point_box must be 0 or 1, not %lld",
                           (long long)center_point_box);
    p->is_center_box = center_point_box == 1;
    return 0;
}

/* The inputs, checked, with the optional scalars read (absent or empty: their defaults). */
typedef struct {
    const float *boxes, *scores;
    int64_t batches, classes, spatial;
    int64_t max_per_class;
    float iou_threshold;
    bool has_score_threshold;
    float score_threshold;
} nms_input_t;

static bool optional_f32(const inferd_tensor_t *t, float *OUT_value)
{
    if (t == NULL || t->dtype != INFERD_DT_FP32 || inferd_tensor_count(t) < 1)
        return false;
    *OUT_value = ((const float *)t->data)[0];
    return true;
}

static int nms_read(const onnx_node_t *node, const inferd_tensor_t *const *in, nms_input_t *OUT,
                    inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *boxes = in[0], *scores = in[1];
    if (boxes->dtype != INFERD_DT_FP32 || scores->dtype != INFERD_DT_FP32)
        return onnx_fail_dtype(err, boxes->dtype != INFERD_DT_FP32 ? boxes : scores, "FP32");
    if (boxes->ndim != 3 || boxes->shape[2] != 4 || scores->ndim != 3 ||
        scores->shape[0] != boxes->shape[0] || scores->shape[2] != boxes->shape[1])
        return inferd_fail(err, INFERD_EINVAL,
                           "NonMaxSuppression: boxes must be [batches, boxes, 4] and scores "
                           "[batches, classes, boxes]");
    *OUT = (nms_input_t){
        .boxes = boxes->data,
        .scores = scores->data,
        .batches = scores->shape[0],
        .classes = scores->shape[1],
        .spatial = scores->shape[2],
    };
    const inferd_tensor_t *max = node->n_inputs > 2 ? in[2] : NULL;
    if (max != NULL && inferd_tensor_count(max) > 0 &&
        onnx_read_ints(max, &OUT->max_per_class, 1, "max_output_boxes_per_class", err) != 1)
        return inferd_fail(err, INFERD_EINVAL,
                           "NonMaxSuppression: max_output_boxes_per_class must be one INT64");
    optional_f32(node->n_inputs > 3 ? in[3] : NULL, &OUT->iou_threshold);
    OUT->has_score_threshold =
        optional_f32(node->n_inputs > 4 ? in[4] : NULL, &OUT->score_threshold);
    return 0;
}

/* One box as its low and high corners. */
typedef struct {
    float y0, x0, y1, x1;
} corners_t;

static corners_t corners_of(const float *b, bool is_center_box)
{
    if (is_center_box)
        return (corners_t){b[1] - b[3] / 2, b[0] - b[2] / 2, b[1] + b[3] / 2, b[0] + b[2] / 2};
    return (corners_t){b[0] < b[2] ? b[0] : b[2], b[1] < b[3] ? b[1] : b[3],
                       b[0] < b[2] ? b[2] : b[0], b[1] < b[3] ? b[3] : b[1]};
}

/* Whether boxes a and b overlap with an intersection over union above `threshold`; boxes
 * without area never do. */
static bool overlaps(corners_t a, corners_t b, float threshold)
{
    float area_a = (a.y1 - a.y0) * (a.x1 - a.x0), area_b = (b.y1 - b.y0) * (b.x1 - b.x0);
    if (area_a <= 0 || area_b <= 0)
        return false;
    float h = (a.y1 < b.y1 ? a.y1 : b.y1) - (a.y0 > b.y0 ? a.y0 : b.y0);
    float w = (a.x1 < b.x1 ? a.x1 : b.x1) - (a.x0 > b.x0 ? a.x0 : b.x0);
    if (h <= 0 || w <= 0)
        return false;
    float inter = h * w;
    return inter / (area_a + area_b - inter) > threshold;
}

typedef struct {
    float score;
    int64_t box;
} candidate_t;

static int by_score(const void *a, const void *b)
{
    const candidate_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->box < y->box ? -1 : x->box > y->box;
}

/* Runs the selection; writes the rows into `out` when it is not NULL. Returns how many boxes it
 * selected, or -1 when out of memory. */
static int64_t nms_select(const nms_input_t *a, bool is_center_box, int64_t *out)
{
    int64_t selected = 0;
    if (a->max_per_class <= 0 || a->spatial == 0)
        return 0;
    candidate_t *candidates = malloc(sizeof(*candidates) * (size_t)a->spatial);
    int64_t *kept = malloc(sizeof(*kept) * (size_t)a->spatial);
    if (candidates == NULL || kept == NULL) {
        free(candidates);
        free(kept);
        return -1;
    }
    for (int64_t b = 0; b < a->batches; b++)
        for (int64_t c = 0; c < a->classes; c++) {
            const float *scores = a->scores + (b * a->classes + c) * a->spatial;
            const float *boxes = a->boxes + b * a->spatial * 4;
            int64_t n = 0, n_kept = 0;
            for (int64_t i = 0; i < a->spatial; i++)
                if (!a->has_score_threshold || scores[i] > a->score_threshold)
                    candidates[n++] = (candidate_t){scores[i], i};
            qsort(candidates, (size_t)n, sizeof(*candidates), by_score);
            for (int64_t i = 0; i < n && n_kept < a->max_per_class; i++) {
                corners_t box = corners_of(boxes + candidates[i].box * 4, is_center_box);
                bool is_suppressed = false;
                for (int64_t k = 0; k < n_kept && !is_suppressed; k++)
                    is_suppressed = overlaps(corners_of(boxes + kept[k] * 4, is_center_box), box,
                                             a->iou_threshold);
                if (is_suppressed)
                    continue;
                kept[n_kept++] = candidates[i].box;
                if (out != NULL) {
                    out[selected * 3] = b;
                    out[selected * 3 + 1] = c;
                    out[selected * 3 + 2] = candidates[i].box;
                }
                selected++;
            }
        }
    free(candidates);
    free(kept);
    return selected;
}

static int nms_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, inferd_err_t *err)
{
    const nms_params_t *p = node->params;
    nms_input_t a;
    int rc = nms_read(node, in, &a, err);
    if (rc != 0)
        return rc;
    int64_t selected = nms_select(&a, p->is_center_box, NULL);
    if (selected < 0)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    int64_t shape[2] = {selected, 3};
    onnx_set_shape(&out[0], INFERD_DT_INT64, shape, 2);
    return 0;
}

static int nms_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                   onnx_scratch_t *scratch, inferd_err_t *err)
{
    const nms_params_t *p = node->params;
    nms_input_t a;
    int rc = nms_read(node, in, &a, err);
    if (rc != 0)
        return rc;
    if (nms_select(&a, p->is_center_box, out[0].data) < 0)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    return 0;
}

static const onnx_op_t onnx_op_nms = {"NonMaxSuppression", 2,         5,      1, 1,
                                      nms_prepare,         nms_shape, nms_run};

const onnx_op_t *const onnx_ops_nms[] = {&onnx_op_nms, NULL};
