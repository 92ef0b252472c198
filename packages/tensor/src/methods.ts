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
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    tanh(): Tensor;
    gelu(): Tensor;
    silu(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    square(): Tensor;
    matmul(b: Tensor, opts?: MatmulOptions): Tensor;
    sum(axes?: Axes, opts?: ReduceOptions): Tensor;
    mean(axes?: Axes, opts?: ReduceOptions): Tensor;
    max(axes?: Axes, opts?: ReduceOptions): Tensor;
    reshape(shape: Shape): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    permute(perm: readonly number[]): Tensor;
    slice(begin: readonly number[], size?: readonly number[]): Tensor;
    broadcastTo(shape: Shape): Tensor;
    softmax(opts?: SoftmaxOptions): Tensor;
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
