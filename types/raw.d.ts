// `import text from './file.proto?raw'`: vite (tests) and the esbuild bundle both
// inline the file as a string.
declare module '*?raw' {
  const text: string;
  export default text;
}
