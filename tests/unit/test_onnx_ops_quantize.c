/* Unit tests for linear quantization (src/backends/onnx/ops/quantize.c): QuantizeLinear rounding
 * half to even and saturating to UINT8 and INT8, per tensor and per channel; DequantizeLinear
 * back; DynamicQuantizeLinear's scale and zero point from the data, including data that is all
 * zero; and refusals of a scale that fits neither per tensor nor per channel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

static void quantize_rounds_half_to_even_and_saturates(void **state)
{
    (void)state;
    float x[6] = {0.5f, 1.5f, 2.5f, -1.0f, 300.0f, -300.0f};
    float scale = 1.0f;
    uint8_t zero = 10;
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 1, (int64_t)6),
                             tensor(INFERD_DT_FP32, &scale, 0), tensor(INFERD_DT_UINT8, &zero, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t q = {.op_type = "QuantizeLinear"};
    assert_int_equal(run_op(&q, in, 3, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_UINT8);
    assert_memory_equal(out.data, ((uint8_t[]){10, 12, 12, 9, 255, 0}), 6);
    free(out.data);

    int8_t signed_zero = -1;
    in[2] = tensor(INFERD_DT_INT8, &signed_zero, 0);
    assert_int_equal(run_op(&q, in, 3, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT8);
    assert_memory_equal(out.data, ((int8_t[]){-1, 1, 1, -2, 127, -128}), 6);
    free(out.data);

    /* no zero point: UINT8 around 0 */
    assert_int_equal(run_op(&q, in, 2, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_UINT8);
    assert_memory_equal(out.data, ((uint8_t[]){0, 2, 2, 0, 255, 0}), 6);
    free(out.data);
}

/* Per channel along axis 1 of [2, 3, 2]: each of the 3 channels has its scale and zero point;
 * dequantizing gives the values back where they were exact. */
static void per_channel_there_and_back(void **state)
{
    (void)state;
    float x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    float scales[3] = {1.0f, 0.5f, 2.0f};
    uint8_t zeros[3] = {0, 100, 200};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 3, (int64_t)2, (int64_t)3, (int64_t)2),
                             tensor(INFERD_DT_FP32, scales, 1, (int64_t)3),
                             tensor(INFERD_DT_UINT8, zeros, 1, (int64_t)3)};
    inferd_tensor_t q_out, dq_out;
    inferd_err_t err;
    op_case_t q = {.op_type = "QuantizeLinear"};
    assert_int_equal(run_op(&q, in, 3, &q_out, &err), 0);
    assert_memory_equal(q_out.data,
                        ((uint8_t[]){0, 1, 104, 106, 202, 202, 6, 7, 116, 118, 205, 206}), 12);
    op_case_t dq = {.op_type = "DequantizeLinear"};
    inferd_tensor_t back[3] = {q_out, in[1], in[2]};
    assert_int_equal(run_op(&dq, back, 3, &dq_out, &err), 0);
    assert_int_equal(dq_out.dtype, INFERD_DT_FP32);
    /* channel 2 (scale 2) rounds 4 -> 4, 5 -> 4 (2.5 to even), 10 -> 10, 11 -> 12 */
    assert_floats(dq_out.data, (float[]){0, 1, 2, 3, 4, 4, 6, 7, 8, 9, 10, 12}, 12);
    free(q_out.data);
    free(dq_out.data);

    float wrong[2] = {1, 1};
    in[1] = tensor(INFERD_DT_FP32, wrong, 1, (int64_t)2);
    in[2] = tensor(INFERD_DT_UINT8, zeros, 1, (int64_t)2);
    assert_int_equal(run_op(&q, in, 3, &q_out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "axis 1"));
}

/* The range [-1, 2] (0 inside it) over 255 steps: scale 3/255, zero point round(85) = 85. */
static void dynamic_quantize_takes_its_range_from_the_data(void **state)
{
    (void)state;
    float x[4] = {-1.0f, 0.0f, 1.0f, 2.0f};
    inferd_tensor_t in[1] = {tensor(INFERD_DT_FP32, x, 1, (int64_t)4)};
    inferd_tensor_t outs[3];
    inferd_err_t err;
    op_case_t dq = {.op_type = "DynamicQuantizeLinear"};
    assert_int_equal(run_op_n(&dq, in, 1, outs, 3, &err), 0);
    assert_memory_equal(outs[0].data, ((uint8_t[]){0, 85, 170, 255}), 4);
    assert_true(*(float *)outs[1].data == 3.0f / 255.0f);
    assert_int_equal(*(uint8_t *)outs[2].data, 85);
    for (int i = 0; i < 3; i++)
        free(outs[i].data);

    float zeros[3] = {0, 0, 0}; /* no range: scale 0, everything at the zero point 0 */
    in[0] = tensor(INFERD_DT_FP32, zeros, 1, (int64_t)3);
    assert_int_equal(run_op_n(&dq, in, 1, outs, 3, &err), 0);
    assert_memory_equal(outs[0].data, ((uint8_t[]){0, 0, 0}), 3);
    assert_true(*(float *)outs[1].data == 0.0f);
    assert_int_equal(*(uint8_t *)outs[2].data, 0);
    for (int i = 0; i < 3; i++)
        free(outs[i].data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantize_rounds_half_to_even_and_saturates),
        cmocka_unit_test(per_channel_there_and_back),
        cmocka_unit_test(dynamic_quantize_takes_its_range_from_the_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
