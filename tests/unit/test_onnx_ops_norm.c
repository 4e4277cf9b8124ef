/* Unit tests for the normalization family (BatchNormalization, InstanceNormalization,
 * LayerNormalization): values worked out by hand, the optional statistics outputs, broadcasting of
 * LayerNormalization's Scale and B, and refusals (training mode, mismatched shapes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

#define I(v) ((int64_t)(v))

static void batch_norm_uses_running_statistics(void **state)
{
    /* N=1, C=2, L=2: channel 0 [1, 3], channel 1 [2, 4] */
    float x[4] = {1, 3, 2, 4}, scale[2] = {2, 1}, b[2] = {0, 1}, mean[2] = {2, 3},
          var[2] = {4, 0.25f};
    inferd_tensor_t in[5] = {
        tensor(INFERD_DT_FP32, x, 3, I(1), I(2), I(2)), tensor(INFERD_DT_FP32, scale, 1, I(2)),
        tensor(INFERD_DT_FP32, b, 1, I(2)), tensor(INFERD_DT_FP32, mean, 1, I(2)),
        tensor(INFERD_DT_FP32, var, 1, I(2))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "BatchNormalization", .opset = 15};
    add_float_attr(&c, "epsilon", 0.0f);
    assert_int_equal(run_op(&c, in, 5, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 2, 2});
    /* 2 * (x - 2) / 2 + 0 and 1 * (x - 3) / 0.5 + 1 */
    assert_floats(out.data, (float[]){-1, 1, -1, 3}, 4);
    free(out.data);
    op_case_t with_epsilon = {.op_type = "BatchNormalization", .opset = 9};
    add_float_attr(&with_epsilon, "epsilon", 0.75f);
    assert_int_equal(run_op(&with_epsilon, in, 5, &out, &err), 0);
    assert_floats(out.data, (float[]){-2 / sqrtf(4.75f), 2 / sqrtf(4.75f), -1 / sqrtf(1) + 1, 2},
                  4);
    free(out.data);
    double xd[4] = {1, 3, 2, 4};
    in[0] = tensor(INFERD_DT_FP64, xd, 3, I(1), I(2), I(2));
    assert_int_equal(run_op(&c, in, 5, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_FP64);
    assert_true(((double *)out.data)[3] == 3.0);
    free(out.data);
}

static void batch_norm_refuses_training_and_bad_shapes(void **state)
{
    float x[4] = {0}, v2[2] = {1, 1}, v3[3] = {1, 1, 1};
    inferd_tensor_t in[5] = {
        tensor(INFERD_DT_FP32, x, 3, I(1), I(2), I(2)), tensor(INFERD_DT_FP32, v2, 1, I(2)),
        tensor(INFERD_DT_FP32, v2, 1, I(2)), tensor(INFERD_DT_FP32, v2, 1, I(2)),
        tensor(INFERD_DT_FP32, v3, 1, I(3))};
    inferd_tensor_t outs[3];
    inferd_err_t err;
    op_case_t c = {.op_type = "BatchNormalization", .opset = 15};
    assert_int_equal(run_op(&c, in, 5, outs, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "var must be a vector of 2"));
    in[4] = tensor(INFERD_DT_FP32, v2, 1, I(2));
    op_case_t training = {.op_type = "BatchNormalization", .opset = 15};
    add_int_attr(&training, "training_mode", 1);
    assert_int_equal(run_op_n(&training, in, 5, outs, 3, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "training_mode"));
    op_case_t old_outputs = {.op_type = "BatchNormalization", .opset = 9};
    assert_int_equal(run_op_n(&old_outputs, in, 5, outs, 3, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "training outputs"));
    op_case_t per_activation = {.op_type = "BatchNormalization", .opset = 7};
    add_int_attr(&per_activation, "spatial", 0);
    assert_int_equal(run_op(&per_activation, in, 5, outs, &err), INFERD_EMODEL);
    int32_t ints[4] = {0};
    in[0] = tensor(INFERD_DT_INT32, ints, 3, I(1), I(2), I(2));
    assert_int_equal(run_op(&c, in, 5, outs, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "INT32"));
}

static void instance_norm_per_channel_statistics(void **state)
{
    /* channel 0: mean 2.5, variance 1.25; channel 1 constant: normalizes to B */
    float x[8] = {1, 2, 3, 4, 2, 2, 2, 2}, scale[2] = {2, 1}, b[2] = {0, 5};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 3, I(1), I(2), I(4)),
                             tensor(INFERD_DT_FP32, scale, 1, I(2)),
                             tensor(INFERD_DT_FP32, b, 1, I(2))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "InstanceNormalization"};
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    float s = 2 / sqrtf(1.25f + 1e-5f);
    assert_floats(out.data, (float[]){-1.5f * s, -0.5f * s, 0.5f * s, 1.5f * s, 5, 5, 5, 5}, 8);
    free(out.data);
    in[1].shape[0] = 1;
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "scale must be a vector of 2"));
    in[1].shape[0] = 2;
    in[0] = tensor(INFERD_DT_FP32, x, 2, I(2), I(4));
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
}

static void layer_norm_with_statistics_outputs(void **state)
{
    float x[4] = {1, 3, 2, 2}, scale[2] = {1, 2}, b[2] = {0, 1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 2, I(2), I(2)),
                             tensor(INFERD_DT_FP32, scale, 1, I(2)),
                             tensor(INFERD_DT_FP32, b, 1, I(2))};
    inferd_tensor_t outs[3];
    inferd_err_t err;
    op_case_t c = {.op_type = "LayerNormalization", .opset = 17};
    add_float_attr(&c, "epsilon", 0.25f);
    assert_int_equal(run_op_n(&c, in, 3, outs, 3, &err), 0);
    /* row 0: mean 2, variance 1, 1 / sqrt(1.25); row 1: mean 2, variance 0, 1 / sqrt(0.25) */
    float inv = 1 / sqrtf(1.25f);
    assert_floats(outs[0].data, (float[]){-inv, 2 * inv + 1, 0, 1}, 4);
    assert_shape(&outs[1], 2, (int64_t[]){2, 1});
    assert_int_equal(outs[1].dtype, INFERD_DT_FP32);
    assert_floats(outs[1].data, (float[]){2, 2}, 2);
    assert_floats(outs[2].data, (float[]){inv, 2}, 2);
    for (int k = 0; k < 3; k++)
        free(outs[k].data);

    /* axis 0 normalizes everything; Scale [1, 2] broadcasts over the rows and B is omitted */
    op_case_t whole = {.op_type = "LayerNormalization", .opset = 17};
    add_int_attr(&whole, "axis", 0);
    add_float_attr(&whole, "epsilon", 0.0f);
    in[1] = tensor(INFERD_DT_FP32, scale, 2, I(1), I(2));
    assert_int_equal(run_op(&whole, in, 2, outs, &err), 0);
    /* mean 2, variance 0.5 */
    float r = 1 / sqrtf(0.5f);
    assert_floats(outs[0].data, (float[]){-r, 2 * r, 0, 0}, 4);
    free(outs[0].data);
}

static void layer_norm_refusals(void **state)
{
    float x[6] = {0}, scale[3] = {1, 1, 1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 2, I(2), I(3)),
                             tensor(INFERD_DT_FP32, scale, 1, I(3))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t far = {.op_type = "LayerNormalization", .opset = 17};
    add_int_attr(&far, "axis", 2);
    assert_int_equal(run_op(&far, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "axis 2 is out of range"));
    op_case_t first = {.op_type = "LayerNormalization", .opset = 17};
    add_int_attr(&first, "axis", 0); /* normalized shape [2, 3]: Scale [3] fits, [2] does not */
    assert_int_equal(run_op(&first, in, 2, &out, &err), 0);
    free(out.data);
    in[1].shape[0] = 2;
    assert_int_equal(run_op(&first, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "does not broadcast"));
    op_case_t stash = {.op_type = "LayerNormalization", .opset = 17};
    add_int_attr(&stash, "stash_type", 10);
    assert_int_equal(run_op(&stash, in, 2, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "stash_type"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_norm_uses_running_statistics),
        cmocka_unit_test(batch_norm_refuses_training_and_bad_shapes),
        cmocka_unit_test(instance_norm_per_channel_statistics),
        cmocka_unit_test(layer_norm_with_statistics_outputs),
        cmocka_unit_test(layer_norm_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
