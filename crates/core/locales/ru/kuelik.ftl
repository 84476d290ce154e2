# Сообщения kuelik на русском языке. Идентификаторы одинаковы во всех трёх языках.

## Сообщение статьи (R6) — дословно.
psc-only = Оформление недоступно, обратитесь в ЦОН

## Проверка права на онлайн-замену
eligibility-eligible = Вы можете подать заявку онлайн
eligibility-eligible-detail = Документ действителен по { $last_valid_day } включительно. Онлайн-заявку можно подать по { $last_eligible_date } включительно.
eligibility-too-early = Подать заявку онлайн пока рано
eligibility-too-early-detail = Документ действителен по { $last_valid_day }. Онлайн-заявку можно подать не ранее чем за { $days_before } дней до окончания срока — с { $first_eligible_date }.
eligibility-reason-not-served-detail = Онлайн можно заменить только документ, срок действия которого истекает или недавно истёк. При смене фамилии, утере, порче документа и по другим причинам обратитесь в ЦОН.
eligibility-document-not-served-detail = Этот вид документа по действующим правилам онлайн не оформляется.
eligibility-expired-too-long-detail = Документ был действителен по { $last_valid_day }. Онлайн-замена возможна не позднее { $days_after } календарных дней после окончания срока действия.
eligibility-window-after-service-end-detail = Онлайн-заявку по вашему документу можно было бы подать с { $first_eligible_date }, но онлайн-услуга действует только по { $service_end }.
eligibility-service-not-active = Онлайн-услуга сейчас не действует
eligibility-service-not-active-ended-detail = Онлайн-оформление действовало с { $service_start } по { $service_end }. Обратитесь в ЦОН.
eligibility-service-not-active-before-detail = Онлайн-оформление начнёт действовать с { $service_start }.

## Ошибки ИИН
iin-error-wrong_length = ИИН состоит из 12 цифр, а введено символов: { $count }.
iin-error-not_a_digit = Символ № { $position } — не цифра.
iin-error-bad_century_digit = Седьмая цифра ИИН должна быть от 1 до 6, а указана { $digit }.
iin-error-bad_birth_date = Первые шесть цифр ({ $digits }) не являются датой рождения.
iin-error-check_digit_mismatch = Контрольная цифра не совпадает: вероятно, одна из цифр введена неверно.
iin-error-check_digit_undefined = Такого ИИН не существует: для этих цифр контрольная цифра не определена.

## Ошибки номера талона
ticket-error-wrong_length = Номер талона состоит из 10 знаков, а введено: { $count }.
ticket-error-bad_symbol = Знак № { $position } («{ $symbol }») не используется в номерах талонов.
ticket-error-check_failed = Номер талона введён с ошибкой: проверьте каждый знак и их порядок.

## Виды документов и причины
document-identity-card = удостоверение личности
document-passport = паспорт
reason-expiring = истекает срок действия
reason-name-change = смена фамилии, имени или отчества
reason-loss = утеря
reason-damage = порча
reason-other = другая причина

## Статусы заявки
state-draft = черновик
state-submitted = подана
state-queued = в очереди
state-under_review = на рассмотрении
state-approved = одобрена
state-in_production = в изготовлении
state-dispatched = отправлена в регистрационный пункт
state-ready_for_pickup = готова к выдаче
state-issued = выдана
state-annulled = аннулирована
state-withdrawn = отозвана

## Причины аннулирования (R12)
annulment-photo_non_compliant = Фотография не соответствует требованиям
annulment-signature_non_compliant = Подпись не соответствует требованиям
annulment-additional_verification_required = Требуется дополнительная проверка со стороны УМС

## Ошибки жизненного цикла заявки
lifecycle-error-illegal_transition = Это действие невозможно, пока заявка в статусе «{ $state }».
lifecycle-error-wrong_role = Ваша роль не позволяет выполнить это действие.
lifecycle-error-not_the_applicant = Действовать по заявке может только сам владелец документа.
lifecycle-error-other_region = Заявка относится к другому региону.
lifecycle-error-not_the_reviewer = Это может сделать только сотрудник, взявший заявку на рассмотрение.
lifecycle-error-wrong_registration_point = Документ выдаётся в другом регистрационном пункте.
lifecycle-error-point_outside_region = Выберите регистрационный пункт в своём регионе.
lifecycle-error-application_incomplete = Ещё не всё готово: { $parts }.
task-todo-registration_point = выберите регистрационный пункт, где получите документ
task-todo-photo = загрузите фотографию, соответствующую требованиям
task-todo-signature = загрузите подпись, соответствующую требованиям
task-todo-payment = оплатите государственную пошлину
lifecycle-error-already_paid = Государственная пошлина по этой заявке уже оплачена.
lifecycle-error-ticket_mismatch = Номер талона не совпадает с заявкой.
lifecycle-error-bad_document_number = Номер нового документа не соответствует формату (удостоверение личности — 9 цифр, паспорт — N и 8 цифр).
lifecycle-error-no_refund_pending = По этой заявке нет ожидающего возврата.
lifecycle-error-register_document_mismatch = В регистре населения указан не тот документ, который заменяет эта заявка. Проверьте запись регистра перед выдачей документа.
lifecycle-error-review_not_abandoned = Рассмотрение ещё не ждало достаточно долго, чтобы его освободить.
lifecycle-error-not_eligible = Сегодня оформить документ онлайн нельзя.
lifecycle-error-calendar_not_covered = Не удалось рассчитать срок исполнения: в календаре рабочих дней нет данных на этот год. Администратор должен их добавить.

## Документы человека после выдачи
document-status-valid = действителен
document-status-replaced = недействителен: заменён новым документом
document-status-reported_lost = недействителен: заявлен как утерянный
document-status-expired = недействителен: истёк срок действия
document-validity-unknown = Документ такого вида с таким номером не найден. Проверьте вид и номер документа.
old-card-surrendered = прежний документ сдан и уничтожен
old-card-not_presented = прежний документ не предъявлен
notice-handed-over = Вам выдан новый документ ({ $kind }) № { $number }. Документ № { $old } недействителен с { $at } ({ $old_card }).
