// Chainable methods on Tensor (x.matmul(w).add(b)), attached here so tensor.ts does not import the ops.
import * as ew from './ops/elementwise.js';
import type { TensorLike } from './ops/internal.js';
import { type MatmulOptions, matmul } from './ops/matmul.js';
import * as mv from './ops/movement.js';
import { logSoftmax, type SoftmaxOptions, softmax } from './ops/nn.js';
import { type Axes, max, mean, type ReduceOptions, sum } from './ops/reduce.js';
import type { Shape } from './shape.js';
import { Tensor } from './tensor.js';

declare module './tensor.js' {
  interface Tensor {
    /** {@inheritDoc @tinyformer/tensor!add} */
    add(b: TensorLike): Tensor;
    /** {@inheritDoc @tinyformer/tensor!sub} */
    sub(b: TensorLike): Tensor;
    /** {@inheritDoc @tinyformer/tensor!mul} */
    mul(b: TensorLike): Tensor;
    /** {@inheritDoc @tinyformer/tensor!div} */
    div(b: TensorLike): Tensor;
    /** {@inheritDoc @tinyformer/tensor!pow} */
    pow(b: TensorLike): Tensor;
    /** {@inheritDoc @tinyformer/tensor!neg} */
    neg(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!exp} */
    exp(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!log} */
    log(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!sqrt} */
    sqrt(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!rsqrt} */
    rsqrt(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!tanh} */
    tanh(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!gelu} */
    gelu(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!silu} */
    silu(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!relu} */
    relu(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!sigmoid} */
    sigmoid(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!square} */
    square(): Tensor;
    /** {@inheritDoc @tinyformer/tensor!matmul} */
    matmul(b: Tensor, opts?: MatmulOptions): Tensor;
    /** {@inheritDoc @tinyformer/tensor!sum} */
    sum(axes?: Axes, opts?: ReduceOptions): Tensor;
    /** {@inheritDoc @tinyformer/tensor!mean} */
    mean(axes?: Axes, opts?: ReduceOptions): Tensor;
    /** {@inheritDoc @tinyformer/tensor!max} */
    max(axes?: Axes, opts?: ReduceOptions): Tensor;
    /** {@inheritDoc @tinyformer/tensor!reshape} */
    reshape(shape: Shape): Tensor;
    /** {@inheritDoc @tinyformer/tensor!transpose} */
    transpose(dim0?: number, dim1?: number): Tensor;
    /** {@inheritDoc @tinyformer/tensor!permute} */
    permute(perm: readonly number[]): Tensor;
    /** {@inheritDoc @tinyformer/tensor!slice} */
    slice(begin: readonly number[], size?: readonly number[]): Tensor;
    /** {@inheritDoc @tinyformer/tensor!broadcastTo} */
    broadcastTo(shape: Shape): Tensor;
    /** {@inheritDoc @tinyformer/tensor!softmax} */
    softmax(opts?: SoftmaxOptions): Tensor;
    /** {@inheritDoc @tinyformer/tensor!logSoftmax} */
    logSoftmax(opts?: SoftmaxOptions): Tensor;
  }
}

const p = Tensor.prototype;
p.add = function (b) {
  return ew.add(this, b);
};
p.sub = function (b) {
  return ew.sub(this, b);
};
p.mul = function (b) {
  return ew.mul(this, b);
};
p.div = function (b) {
  return ew.div(this, b);
};
p.pow = function (b) {
  return ew.pow(this, b);
};
p.neg = function () {
  return ew.neg(this);
};
p.exp = function () {
  return ew.exp(this);
};
p.log = function () {
  return ew.log(this);
};
p.sqrt = function () {
  return ew.sqrt(this);
};
p.rsqrt = function () {
  return ew.rsqrt(this);
};
p.tanh = function () {
  return ew.tanh(this);
};
p.gelu = function () {
  return ew.gelu(this);
};
p.silu = function () {
  return ew.silu(this);
};
p.relu = function () {
  return ew.relu(this);
};
p.sigmoid = function () {
  return ew.sigmoid(this);
};
p.square = function () {
  return ew.square(this);
};
p.matmul = function (b, opts) {
  return matmul(this, b, opts);
};
p.sum = function (axes, opts) {
  return sum(this, axes, opts);
};
p.mean = function (axes, opts) {
  return mean(this, axes, opts);
};
p.max = function (axes, opts) {
  return max(this, axes, opts);
};
p.reshape = function (shape) {
  return mv.reshape(this, shape);
};
p.transpose = function (d0, d1) {
  return mv.transpose(this, d0, d1);
};
p.permute = function (perm) {
  return mv.permute(this, perm);
};
p.slice = function (begin, size) {
  return mv.slice(this, begin, size);
};
p.broadcastTo = function (shape) {
  return mv.broadcastTo(this, shape);
};
p.softmax = function (opts) {
  return softmax(this, opts);
};
p.logSoftmax = function (opts) {
  return logSoftmax(this, opts);
};
