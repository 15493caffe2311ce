// A script that does not compile: k6 exits 107.
export default function () {
  let x = ;
}
