/* Unit tests for the resize family (Resize, Upsample): nearest, linear and cubic interpolation
 * under each coordinate transformation worked out by hand, crops with extrapolation, integer
 * rounding, and refusals of inconsistent scales, sizes and attributes. */
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

static const inferd_tensor_t omitted = {.dtype = INFERD_DT_INVALID};

static void nearest_upsampling_with_scales(void **state)
{
    float x[4] = {1, 2, 3, 4}, scales[4] = {1, 1, 2, 1.5f};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 4, I(1), I(1), I(2), I(2)), omitted,
                             tensor(INFERD_DT_FP32, scales, 1, I(4))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Resize"};
    add_string_attr(&c, "coordinate_transformation_mode", "asymmetric");
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){1, 1, 4, 3});
    /* columns: x / 1.5 = 0, 0.67, 1.33 round to 0, 1, 1 */
    assert_floats(out.data, (float[]){1, 2, 2, 1, 2, 2, 3, 4, 4, 3, 4, 4}, 12);
    free(out.data);
    op_case_t floor_mode = {.op_type = "Resize"};
    add_string_attr(&floor_mode, "coordinate_transformation_mode", "asymmetric");
    add_string_attr(&floor_mode, "nearest_mode", "floor");
    assert_int_equal(run_op(&floor_mode, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 1, 2, 1, 1, 2, 3, 3, 4, 3, 3, 4}, 12);
    free(out.data);

    /* the same through Upsample: scales as an input (opset 9) or an attribute (opset 7) */
    op_case_t upsample9 = {.op_type = "Upsample", .opset = 9};
    in[1] = in[2];
    assert_int_equal(run_op(&upsample9, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 1, 2, 1, 1, 2, 3, 3, 4, 3, 3, 4}, 12);
    free(out.data);
    op_case_t upsample7 = {.op_type = "Upsample", .opset = 7};
    Onnx__AttributeProto *a = next_attr(&upsample7, "scales");
    a->floats = scales;
    a->n_floats = 4;
    assert_int_equal(run_op(&upsample7, in, 1, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){1, 1, 4, 3});
    assert_floats(out.data, (float[]){1, 1, 2, 1, 1, 2, 3, 3, 4, 3, 3, 4}, 12);
    free(out.data);
}

static void linear_coordinate_transformations(void **state)
{
    float x[2] = {0, 10}, scales[3] = {1, 1, 2};
    int64_t sizes[3] = {1, 1, 3};
    inferd_tensor_t in[4] = {tensor(INFERD_DT_FP32, x, 3, I(1), I(1), I(2)), omitted,
                             tensor(INFERD_DT_FP32, scales, 1, I(3)), omitted};
    inferd_tensor_t out;
    inferd_err_t err;
    /* half_pixel: -0.25, 0.25, 0.75, 1.25, clamped to the edges */
    op_case_t half = {.op_type = "Resize"};
    add_string_attr(&half, "mode", "linear");
    assert_int_equal(run_op(&half, in, 3, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 4});
    assert_floats(out.data, (float[]){0, 2.5f, 7.5f, 10}, 4);
    free(out.data);
    op_case_t asymmetric = {.op_type = "Resize"}; /* 0, 0.5, 1, 1.5 */
    add_string_attr(&asymmetric, "mode", "linear");
    add_string_attr(&asymmetric, "coordinate_transformation_mode", "asymmetric");
    assert_int_equal(run_op(&asymmetric, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 5, 10, 10}, 4);
    free(out.data);
    /* align_corners with sizes: 0, 0.5, 1 */
    in[2] = omitted;
    in[3] = tensor(INFERD_DT_INT64, sizes, 1, I(3));
    op_case_t corners = {.op_type = "Resize"};
    add_string_attr(&corners, "mode", "linear");
    add_string_attr(&corners, "coordinate_transformation_mode", "align_corners");
    assert_int_equal(run_op(&corners, in, 4, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 3});
    assert_floats(out.data, (float[]){0, 5, 10}, 3);
    free(out.data);
    /* bilinear: the centre of a 2x2 patch is its mean */
    float patch[4] = {0, 10, 20, 30};
    int64_t one[4] = {1, 1, 1, 1};
    in[0] = tensor(INFERD_DT_FP32, patch, 4, I(1), I(1), I(2), I(2));
    in[3] = tensor(INFERD_DT_INT64, one, 1, I(4));
    op_case_t centre = {.op_type = "Resize"};
    add_string_attr(&centre, "mode", "linear");
    assert_int_equal(run_op(&centre, in, 4, &out, &err), 0);
    assert_floats(out.data, (float[]){15}, 1);
    free(out.data);
}

static void cubic_and_crop_with_extrapolation(void **state)
{
    float x[4] = {0, 1, 2, 3}, scales[1] = {2};
    inferd_tensor_t in[4] = {tensor(INFERD_DT_FP32, x, 1, I(4)), omitted,
                             tensor(INFERD_DT_FP32, scales, 1, I(1)), omitted};
    inferd_tensor_t out;
    inferd_err_t err;
    /* asymmetric x / 2; at 0.5 Keys' weights (a = -0.75) are -0.09375, 0.59375, 0.59375,
     * -0.09375 over x[-1] (the edge x[0]), x[0], x[1], x[2] */
    op_case_t cubic = {.op_type = "Resize"};
    add_string_attr(&cubic, "mode", "cubic");
    add_string_attr(&cubic, "coordinate_transformation_mode", "asymmetric");
    assert_int_equal(run_op(&cubic, in, 3, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){8});
    float *y = out.data;
    assert_floats(y, (float[]){0, 0.40625f, 1, 1.5f, 2}, 5);
    free(out.data);
    op_case_t excluded = {.op_type = "Resize"}; /* x[-1] gets no weight; the rest rescaled */
    add_string_attr(&excluded, "mode", "cubic");
    add_string_attr(&excluded, "coordinate_transformation_mode", "asymmetric");
    add_int_attr(&excluded, "exclude_outside", 1);
    assert_int_equal(run_op(&excluded, in, 3, &out, &err), 0);
    assert_floats((float *)out.data + 1, (float[]){0.40625f / 1.09375f}, 1);
    free(out.data);

    /* crop [0.5, 1.5] of the normalized axis at 3 points: 1.5, 3, 4.5; beyond 3 is outside */
    float roi[2] = {0.5f, 1.5f};
    int64_t sizes[1] = {3};
    in[1] = tensor(INFERD_DT_FP32, roi, 1, I(2));
    in[2] = omitted;
    in[3] = tensor(INFERD_DT_INT64, sizes, 1, I(1));
    op_case_t crop = {.op_type = "Resize"};
    add_string_attr(&crop, "mode", "linear");
    add_string_attr(&crop, "coordinate_transformation_mode", "tf_crop_and_resize");
    add_float_attr(&crop, "extrapolation_value", -1);
    assert_int_equal(run_op(&crop, in, 4, &out, &err), 0);
    assert_floats(out.data, (float[]){1.5f, 3, -1}, 3);
    free(out.data);
}

static void integer_values_round_and_any_dtype_copies(void **state)
{
    uint8_t x[2] = {0, 255};
    float scales[1] = {2};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_UINT8, x, 1, I(2)), omitted,
                             tensor(INFERD_DT_FP32, scales, 1, I(1))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t linear = {.op_type = "Resize"};
    add_string_attr(&linear, "mode", "linear");
    assert_int_equal(run_op(&linear, in, 3, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_UINT8);
    assert_memory_equal(out.data, ((uint8_t[]){0, 64, 191, 255}), 4); /* 63.75 and 191.25 */
    free(out.data);
    int64_t big[2] = {INT64_MAX, -7};
    in[0] = tensor(INFERD_DT_INT64, big, 1, I(2));
    op_case_t nearest = {.op_type = "Resize"};
    assert_int_equal(run_op(&nearest, in, 3, &out, &err), 0);
    int64_t want[4] = {INT64_MAX, INT64_MAX, -7, -7}; /* copied exactly */
    assert_memory_equal(out.data, want, sizeof(want));
    free(out.data);
}

static void resize_refusals(void **state)
{
    float x[4] = {1, 2, 3, 4}, scales[2] = {1, 2}, bad[2] = {1, -2};
    int64_t sizes[2] = {2, 4};
    inferd_tensor_t in[4] = {tensor(INFERD_DT_FP32, x, 2, I(2), I(2)), omitted,
                             tensor(INFERD_DT_FP32, scales, 1, I(2)),
                             tensor(INFERD_DT_INT64, sizes, 1, I(2))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Resize"};
    assert_int_equal(run_op(&c, in, 4, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "exactly one of scales and sizes"));
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
    in[2].shape[0] = 1;
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "scales has 1 values; 2 expected"));
    in[2] = tensor(INFERD_DT_FP32, bad, 1, I(2));
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    sizes[1] = -4;
    in[2] = omitted;
    assert_int_equal(run_op(&c, in, 4, &out, &err), INFERD_EINVAL);
    uint8_t flags[4] = {0};
    in[0] = tensor(INFERD_DT_BOOL, flags, 2, I(2), I(2));
    assert_int_equal(run_op(&c, in, 4, &out, &err), INFERD_EINVAL);
    op_case_t antialias = {.op_type = "Resize", .opset = 18};
    add_int_attr(&antialias, "antialias", 1);
    assert_int_equal(run_op(&antialias, in, 4, &out, &err), INFERD_EMODEL);
    op_case_t mode = {.op_type = "Resize"};
    add_string_attr(&mode, "mode", "lanczos");
    assert_int_equal(run_op(&mode, in, 4, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "lanczos"));
    op_case_t legacy_cubic = {.op_type = "Upsample", .opset = 9};
    add_string_attr(&legacy_cubic, "mode", "cubic");
    assert_int_equal(run_op(&legacy_cubic, in, 2, &out, &err), INFERD_EMODEL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nearest_upsampling_with_scales),
        cmocka_unit_test(linear_coordinate_transformations),
        cmocka_unit_test(cubic_and_crop_with_extrapolation),
        cmocka_unit_test(integer_values_round_and_any_dtype_copies),
        cmocka_unit_test(resize_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
