// express4 is an npm alias of express@4; its API here is the same as Express 5's types.
declare module 'express4' {
  import express from 'express';
  export default express;
}
