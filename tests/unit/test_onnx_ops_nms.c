/* Unit tests for NonMaxSuppression (src/backends/onnx/ops/nms.c): the order of selection (best
 * score first, the lower box on a tie), suppression above the IoU threshold and not at it,
 * the strict score threshold, the per-class limit, both box formats, boxes without area, rows
 * for every batch and class, the defaults of absent inputs, and refusals of bad shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

static void assert_rows(const inferd_tensor_t *t, const int64_t (*want)[3], int64_t n)
{
    assert_int_equal(t->dtype, INFERD_DT_INT64);
    assert_shape(t, 2, (int64_t[]){n, 3});
    for (int64_t i = 0; i < n * 3; i++)
        if (((int64_t *)t->data)[i] != want[i / 3][i % 3])
            fail_msg("row %lld: got (%lld, %lld, %lld)", (long long)(i / 3),
                     (long long)((int64_t *)t->data)[i / 3 * 3],
                     (long long)((int64_t *)t->data)[i / 3 * 3 + 1],
                     (long long)((int64_t *)t->data)[i / 3 * 3 + 2]);
}

/* Four unit squares as corners [y1, x1, y2, x2]: box 1 is box 0 shifted by 0.5 (IoU 1/3), box 2
 * is far away, box 3 has its corners swapped and equals box 0 (IoU 1). */
static float corners[1][4][4] = {{{0, 0, 1, 1}, {0, 0.5f, 1, 1.5f}, {5, 5, 6, 6}, {1, 1, 0, 0}}};

static void selects_best_first_and_suppresses_overlaps(void **state)
{
    (void)state;
    float scores[1][1][4] = {{{0.9f, 0.8f, 0.3f, 0.95f}}};
    int64_t max = 10;
    float iou = 0.5f, score = 0.3f;
    inferd_tensor_t in[5] = {tensor(INFERD_DT_FP32, corners, 3, (int64_t)1, (int64_t)4, (int64_t)4),
                             tensor(INFERD_DT_FP32, scores, 3, (int64_t)1, (int64_t)1, (int64_t)4),
                             tensor(INFERD_DT_INT64, &max, 0), tensor(INFERD_DT_FP32, &iou, 0),
                             tensor(INFERD_DT_FP32, &score, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t nms = {.op_type = "NonMaxSuppression", .opset = 11};
    /* box 3 (0.95) first; box 0 equals it and goes; box 1 overlaps box 3 by 1/3 and stays;
     * box 2 scores exactly the threshold and is dropped */
    assert_int_equal(run_op(&nms, in, 5, &out, &err), 0);
    assert_rows(&out, (const int64_t[][3]){{0, 0, 3}, {0, 0, 1}}, 2);
    free(out.data);

    iou = 1.0f / 3.0f - 1e-3f; /* now box 1's overlap is above the threshold */
    assert_int_equal(run_op(&nms, in, 5, &out, &err), 0);
    assert_rows(&out, (const int64_t[][3]){{0, 0, 3}}, 1);
    free(out.data);

    iou = 0.5f;
    max = 1; /* the limit per class */
    assert_int_equal(run_op(&nms, in, 5, &out, &err), 0);
    assert_rows(&out, (const int64_t[][3]){{0, 0, 3}}, 1);
    free(out.data);

    /* no score threshold: box 2 comes in; equal scores go to the lower box first */
    max = 10;
    scores[0][0][0] = scores[0][0][3] = 0.9f;
    assert_int_equal(run_op(&nms, in, 4, &out, &err), 0);
    assert_rows(&out, (const int64_t[][3]){{0, 0, 0}, {0, 0, 1}, {0, 0, 2}}, 3);
    free(out.data);

    /* no max_output_boxes_per_class: it defaults to 0, no box at all */
    assert_int_equal(run_op(&nms, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){0, 3});
    free(out.data);
}

/* Center boxes [x_center, y_center, width, height] over two batches and two classes; a box of
 * zero width suppresses nothing and is never suppressed. */
static void center_boxes_batches_and_classes(void **state)
{
    (void)state;
    float boxes[2][3][4] = {{{0.5f, 0.5f, 1, 1}, {0.6f, 0.5f, 1, 1}, {0.5f, 0.5f, 0, 1}},
                            {{10, 10, 2, 2}, {20, 20, 2, 2}, {10.1f, 10, 2, 2}}};
    float scores[2][2][3] = {{{0.9f, 0.8f, 0.7f}, {0.1f, 0.2f, 0.3f}},
                             {{0.5f, 0.6f, 0.7f}, {0.0f, 0.0f, 0.9f}}};
    int64_t max = 3;
    float iou = 0.5f;
    inferd_tensor_t in[4] = {tensor(INFERD_DT_FP32, boxes, 3, (int64_t)2, (int64_t)3, (int64_t)4),
                             tensor(INFERD_DT_FP32, scores, 3, (int64_t)2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_INT64, &max, 0), tensor(INFERD_DT_FP32, &iou, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t nms = {.op_type = "NonMaxSuppression", .opset = 11};
    add_int_attr(&nms, "center_point_box", 1);
    assert_int_equal(run_op(&nms, in, 4, &out, &err), 0);
    assert_rows(&out,
                (const int64_t[][3]){{0, 0, 0},
                                     {0, 0, 2}, /* zero width: kept, suppresses nothing */
                                     {0, 1, 2}, /* class 1: box 2 (0.3) first, then box 1 */
                                     {0, 1, 1},
                                     {1, 0, 2}, /* batch 1: box 0 overlaps box 2 by 0.9 */
                                     {1, 0, 1},
                                     {1, 1, 2},
                                     {1, 1, 1}},
                8);
    free(out.data);
}

static void refuses_mismatched_shapes(void **state)
{
    (void)state;
    float boxes[1][2][4] = {{{0}}}, scores[1][1][3] = {{{0}}};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, boxes, 3, (int64_t)1, (int64_t)2, (int64_t)4),
                             tensor(INFERD_DT_FP32, scores, 3, (int64_t)1, (int64_t)1, (int64_t)3)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t nms = {.op_type = "NonMaxSuppression", .opset = 11};
    assert_int_equal(run_op(&nms, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "[batches, boxes, 4]"));
    op_case_t bad = {.op_type = "NonMaxSuppression", .opset = 11};
    add_int_attr(&bad, "center_point_box", 2);
    assert_int_equal(run_op(&bad, in, 2, &out, &err), INFERD_EMODEL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selects_best_first_and_suppresses_overlaps),
        cmocka_unit_test(center_boxes_batches_and_classes),
        cmocka_unit_test(refuses_mismatched_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
