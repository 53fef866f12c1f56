// The Vant components the mobile app uses; main.js registers every one of them.
export {
  ActionSheet,
  Button,
  Cell,
  CellGroup,
  Checkbox,
  Empty,
  Field,
  Icon,
  Loading,
  NavBar,
  NoticeBar,
  Pagination,
  Picker,
  Popup,
  Search,
  Tag,
} from 'vant'
